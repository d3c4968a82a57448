/**
 * The stand-in's shared state: the records a Mattermost database holds for the bot's endpoints
 * (users, teams, channels and their members, sessions, posts, `pending_post_id`s, ephemeral posts,
 * open dialogs), the server version and the limits it implies (MATTERMOST-API.md §6 and §7), and
 * the membership rules every route checks (§1: open channels are readable by team members,
 * everything else needs channel membership; system admins pass every check). Route modules
 * register handlers that read and write this object; nothing here speaks HTTP.
 */
import { createHash, randomBytes } from "node:crypto";
import { ApiError } from "./errors.js";
import { EventLog } from "./events.js";
import {
  DEFAULT_MATTERMOST_VERSION,
  DEFAULT_MAX_POST_SIZE_RUNES,
  DEFAULT_OUTGOING_REQUEST_TIMEOUT_MS,
  LEGACY_TRIGGER_TIMEOUT_MS,
  POST_PROPS_MAX_RUNES,
  POST_PROPS_MAX_RUNES_V5,
} from "./limits.js";
import { clone, newMattermostId, parseVersion } from "./model.js";
import { OutgoingClient } from "./outgoing.js";
import type { RequestContext, Session } from "./router.js";
import { TriggerIds } from "./trigger-ids.js";
import type {
  MattermostStandinOptions,
  OpenDialog,
  OutgoingLogEntry,
  RequestLogEntry,
  StandinEvent,
  StandinPost,
} from "./types.js";

export interface UserRecord {
  id: string;
  createAt: number;
  updateAt: number;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  nickname: string;
  roles: string;
  isBot: boolean;
  botDescription: string;
}

export interface TeamRecord {
  id: string;
  createAt: number;
  updateAt: number;
  name: string;
  displayName: string;
  type: "O" | "I";
  allowOpenInvite: boolean;
  inviteId: string;
}

export interface ChannelRecord {
  id: string;
  createAt: number;
  updateAt: number;
  teamId: string;
  type: "O" | "P" | "D" | "G";
  name: string;
  displayName: string;
  creatorId: string;
  lastPostAt: number;
  lastRootPostAt: number;
  totalMsgCount: number;
  totalMsgCountRoot: number;
}

export interface StoredPost extends StandinPost {
  seq: number;
}

export class MattermostStore {
  /** Clock (ms) for create/update times, pending_post_id expiry, trigger ids and the rate limiter. */
  now: () => number;
  /** Database/file store health as reported by `GET /system/ping?get_server_status=true`. */
  healthy = true;
  readonly version: string;
  /** `X-Version-Id`: `<version>.<version>.<hash>.false` (§1). */
  readonly versionId: string;
  readonly opts: MattermostStandinOptions;
  readonly secure: boolean;
  /** The port listened on (set once listening). */
  port = 0;

  readonly users = new Map<string, UserRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly channels = new Map<string, ChannelRecord>();
  readonly teamMembers = new Map<string, Set<string>>();
  readonly channelMembers = new Map<string, Set<string>>();
  readonly sessions = new Map<string, Session>();
  readonly admins = new Set<string>();
  readonly posts = new Map<string, StoredPost>();
  /** Replies per root post id: counting them by scanning every post made each post answer O(posts). */
  readonly replyCounts = new Map<string, number>();
  readonly pendingPostIds = new Map<string, { postId: string; expiresAt: number }>();
  readonly ephemeral = new Map<string, StandinPost[]>();
  readonly dialogs = new Map<string, OpenDialog[]>();
  readonly requestLog: RequestLogEntry[] = [];
  readonly outgoingLog: OutgoingLogEntry[] = [];
  readonly events = new EventLog();
  readonly triggers = new TriggerIds();
  readonly outgoing: OutgoingClient;
  postSeq = 0;

  private readonly versionParts: [number, number, number];

  constructor(opts: MattermostStandinOptions) {
    this.opts = opts;
    this.version = opts.version ?? DEFAULT_MATTERMOST_VERSION;
    this.versionParts = parseVersion(this.version);
    const hash = createHash("md5")
      .update(`${this.version}:${randomBytes(8).toString("hex")}`)
      .digest("hex");
    this.versionId = `${this.version}.${this.version}.${hash}.false`;
    this.now = opts.now ?? Date.now;
    this.secure = opts.tls !== undefined;
    this.outgoing = new OutgoingClient(this);
  }

  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  get url(): string {
    return `${this.secure ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  emit(event: StandinEvent): void {
    this.events.emit(event);
  }

  // --- version-dependent behaviour (§7) --------------------------------------------------------

  get isV5(): boolean {
    return this.versionParts[0] < 6;
  }

  atLeast(major: number, minor: number): boolean {
    const [ma, mi] = this.versionParts;
    return ma > major || (ma === major && mi >= minor);
  }

  get propsMaxRunes(): number {
    return this.opts.propsMaxRunes ?? (this.isV5 ? POST_PROPS_MAX_RUNES_V5 : POST_PROPS_MAX_RUNES);
  }

  get maxPostSize(): number {
    return this.opts.maxPostSize ?? DEFAULT_MAX_POST_SIZE_RUNES;
  }

  get outgoingTimeoutMs(): number {
    return this.opts.outgoingTimeoutMs ?? DEFAULT_OUTGOING_REQUEST_TIMEOUT_MS;
  }

  get triggerTimeoutMs(): number {
    return (
      this.opts.triggerTimeoutMs ?? (this.atLeast(9, 5) ? this.outgoingTimeoutMs : LEGACY_TRIGGER_TIMEOUT_MS)
    );
  }

  // --- permissions and lookups (§1) ------------------------------------------------------------

  requireMembers(id: string, map: Map<string, Set<string>>, userId: string): Set<string> {
    const members = map.get(id);
    if (!members) throw new Error(`no team/channel ${id}`);
    if (!this.users.has(userId)) throw new Error(`no user ${userId}`);
    return members;
  }

  isAdmin(userId: string): boolean {
    return this.admins.has(userId);
  }

  isTeamMember(userId: string, teamId: string): boolean {
    return this.isAdmin(userId) || (this.teamMembers.get(teamId)?.has(userId) ?? false);
  }

  isChannelMember(userId: string, channelId: string): boolean {
    return this.isAdmin(userId) || (this.channelMembers.get(channelId)?.has(userId) ?? false);
  }

  /** Open channels are readable by team members; everything else needs channel membership. */
  canReadChannel(userId: string, channel: ChannelRecord): boolean {
    if (this.isChannelMember(userId, channel.id)) return true;
    return channel.type === "O" && this.isTeamMember(userId, channel.teamId);
  }

  sessionUser(ctx: RequestContext): UserRecord {
    const user = ctx.session ? this.users.get(ctx.session.userId) : undefined;
    if (!user) throw new ApiError(401, "api.context.session_expired.app_error", "UserRequired");
    return user;
  }

  /** The DM channel of two users, named `<id1>__<id2>` (ids sorted), created on first use (§2). */
  getOrCreateDirect(userA: string, userB: string): ChannelRecord {
    const name = [userA, userB].sort().join("__");
    for (const channel of this.channels.values())
      if (channel.type === "D" && channel.name === name) return channel;
    const fields = { teamId: "", type: "D", name, displayName: "", creatorId: userA } as const;
    return this.addChannel(fields, [userA, userB]);
  }

  /** Stores a channel created now, with no posts yet, and its members. */
  addChannel(
    fields: Pick<ChannelRecord, "teamId" | "type" | "name" | "displayName" | "creatorId">,
    members: readonly string[],
  ): ChannelRecord {
    const now = this.now();
    const channel: ChannelRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      ...fields,
      lastPostAt: now,
      lastRootPostAt: now,
      totalMsgCount: 0,
      totalMsgCountRoot: 0,
    };
    this.channels.set(channel.id, channel);
    this.channelMembers.set(channel.id, new Set(members));
    return channel;
  }

  // --- posts -----------------------------------------------------------------------------------

  /** A stored post as tests see it (integrations included, no bookkeeping). */
  postRecord(post: StoredPost): StandinPost {
    const { seq: _seq, ...record } = post;
    return clone(record);
  }

  /** Posts the filter accepts, oldest first (creation order breaks ties). */
  sortedPosts(filter: (post: StoredPost) => boolean): StoredPost[] {
    return [...this.posts.values()].filter(filter).sort((a, b) => a.create_at - b.create_at || a.seq - b.seq);
  }
}
