/**
 * Test-facing admin helpers: what an administrator sets up through System Console, `mmctl` or the
 * API before the bot runs (teams, channels, users, bots with a user access token, sessions,
 * memberships; MATTERMOST-API.md §1 "Bot token"), and read-only views of what the server holds
 * (stored posts with their integrations, ephemeral posts, open dialogs). Nothing here goes over
 * HTTP; tests drive the API itself through `MattermostStandin.request` or their own client.
 */
import { clone, newMattermostId } from "./model.js";
import type { MattermostStore, TeamRecord, UserRecord } from "./store.js";
import type { OpenDialog, StandinChannel, StandinPost, StandinUser } from "./types.js";
import { channelJson, teamJson, userJson } from "./views.js";

export class StandinAdmin {
  protected constructor(protected readonly store: MattermostStore) {}

  createTeam(
    name: string,
    options: { displayName?: string; type?: "O" | "I"; allowOpenInvite?: boolean } = {},
  ) {
    const now = this.store.now();
    const team: TeamRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      name,
      displayName: options.displayName ?? name,
      type: options.type ?? "O",
      allowOpenInvite: options.allowOpenInvite ?? false,
      inviteId: newMattermostId(),
    };
    this.store.teams.set(team.id, team);
    this.store.teamMembers.set(team.id, new Set());
    return teamJson(team);
  }

  createChannel(teamId: string, name: string, options: { type?: "O" | "P"; displayName?: string } = {}) {
    if (!this.store.teams.has(teamId)) throw new Error(`createChannel: no team ${teamId}`);
    const type = options.type ?? "O";
    const displayName = options.displayName ?? name;
    const channel = this.store.addChannel({ teamId, type, name, displayName, creatorId: "" }, []);
    return channelJson(channel);
  }

  createUser(input: {
    username: string;
    email: string;
    firstName?: string;
    lastName?: string;
    admin?: boolean;
  }) {
    const user = this.addUser({
      // User.PreSave: NormalizeUsername / NormalizeEmail store both lower-cased.
      username: input.username.toLowerCase(),
      email: input.email.toLowerCase(),
      firstName: input.firstName ?? "",
      lastName: input.lastName ?? "",
      roles: input.admin ? "system_admin system_user" : "system_user",
      isBot: false,
      botDescription: "",
    });
    if (input.admin) this.store.admins.add(user.id);
    return userJson(this.store, user, true);
  }

  /** A bot user and a user access token for it (what `POST /bots` + `POST /users/{id}/tokens` give). */
  createBot(username: string, options: { description?: string } = {}): { user: StandinUser; token: string } {
    const user = this.addUser({
      username,
      email: `${username}@localhost`,
      firstName: "",
      lastName: "",
      roles: "system_user",
      isBot: true,
      botDescription: options.description ?? "",
    });
    return { user: userJson(this.store, user, true), token: this.createSession(user.id) };
  }

  /** A session token for a user (a logged-in webapp user, or a user access token). */
  createSession(userId: string): string {
    if (!this.store.users.has(userId)) throw new Error(`createSession: no user ${userId}`);
    const token = newMattermostId();
    this.store.sessions.set(token, { token, userId, isOAuth: false });
    return token;
  }

  revokeSession(token: string): void {
    this.store.sessions.delete(token);
  }

  addTeamMember(teamId: string, userId: string): void {
    this.store.requireMembers(teamId, this.store.teamMembers, userId).add(userId);
  }

  removeTeamMember(teamId: string, userId: string): void {
    this.store.teamMembers.get(teamId)?.delete(userId);
  }

  addChannelMember(channelId: string, userId: string): void {
    this.store.requireMembers(channelId, this.store.channelMembers, userId).add(userId);
  }

  removeChannelMember(channelId: string, userId: string): void {
    this.store.channelMembers.get(channelId)?.delete(userId);
  }

  /** The DM channel between two users (created like `POST /channels/direct` would). */
  directChannel(userA: string, userB: string): StandinChannel {
    return channelJson(this.store.getOrCreateDirect(userA, userB));
  }

  user(id: string): StandinUser | undefined {
    const user = this.store.users.get(id);
    return user ? userJson(this.store, user, true) : undefined;
  }

  channel(id: string): StandinChannel | undefined {
    const channel = this.store.channels.get(id);
    return channel ? channelJson(channel) : undefined;
  }

  /** A stored post, integrations included (what the database holds, not what the API shows). */
  post(id: string): StandinPost | undefined {
    const post = this.store.posts.get(id);
    return post ? this.store.postRecord(post) : undefined;
  }

  /** All posts of a channel, roots and replies, oldest first. */
  channelPosts(channelId: string): StandinPost[] {
    return this.store.sortedPosts((p) => p.channel_id === channelId).map((p) => this.store.postRecord(p));
  }

  /** Ephemeral posts delivered to a user (action replies' `ephemeral_text`). */
  ephemeralPosts(userId: string): StandinPost[] {
    return clone(this.store.ephemeral.get(userId) ?? []);
  }

  /** Dialogs currently open for a user (opened, not yet submitted successfully or cancelled). */
  openDialogs(userId: string): OpenDialog[] {
    return clone(this.store.dialogs.get(userId) ?? []);
  }

  private addUser(fields: Omit<UserRecord, "id" | "createAt" | "updateAt" | "nickname">): UserRecord {
    const now = this.store.now();
    const user: UserRecord = { id: newMattermostId(), createAt: now, updateAt: now, ...fields, nickname: "" };
    this.store.users.set(user.id, user);
    return user;
  }
}
