/**
 * A small Teleport cluster and Mattermost site made of the stand-ins, set up the way the
 * operator's guide says: a bot in the team and channel, the plugin's identity exported from the
 * cluster, a requester and an approver. The demo runs on it; the process tests use it too.
 */
import {
  MattermostStandin,
  type MattermostStandinOptions,
  type StandinUser,
} from "../standins/mattermost/index.js";
import type { IdentityFiles } from "../standins/pki.js";
import {
  TeleportStandin,
  type TeleportStandinOptions,
  type TeleportVersion,
} from "../standins/teleport/index.js";

export const PLUGIN_USER = "access-plugin-mattermost";
export const PLUGIN_ROLE = "access-plugin";
export const TEAM_NAME = "acme";
export const CHANNEL_NAME = "access-requests";
/** Loopback is refused by Mattermost unless allowed (MATTERMOST-API.md §4); the world allows it. */
export const LOOPBACK_ALLOWED = ["127.0.0.0/8", "::1", "localhost"];
/** The plugin's identity lasts as long as the operator's guide exports it for (`--ttl=8760h`). */
export const PLUGIN_IDENTITY_TTL_MS = 8760 * 3_600_000;

export interface WorldOptions {
  teleportVersion?: TeleportVersion;
  /** Mattermost stand-in options on top of the world's (loopback allowed, self-signed trusted). */
  mattermost?: MattermostStandinOptions;
  /** Teleport stand-in options on top of the world's (e.g. a shifted clock). */
  teleport?: TeleportStandinOptions;
  clusterName?: string;
  /** Roles of the plugin's Teleport identity (default [access-plugin]). */
  pluginRoles?: string[];
}

export interface MattermostPerson {
  user: StandinUser;
  /** A session token, as the webapp would hold after login. */
  session: string;
}

export interface World {
  teleport: TeleportStandin;
  mattermost: MattermostStandin;
  identity: IdentityFiles;
  bot: { user: StandinUser; token: string };
  team: { id: string; name: string };
  channel: { id: string; name: string };
  requester: MattermostPerson;
  approver: MattermostPerson;
  stop(): Promise<void>;
}

/** Another Mattermost user in the world's team and channel, logged in. */
export function addPerson(
  world: Pick<World, "mattermost" | "team" | "channel">,
  username: string,
): MattermostPerson {
  const user = world.mattermost.createUser({ username, email: `${username}@example.com` });
  world.mattermost.addTeamMember(world.team.id, user.id);
  world.mattermost.addChannelMember(world.channel.id, user.id);
  return { user, session: world.mattermost.createSession(user.id) };
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const teleport = await TeleportStandin.start({
    version: options.teleportVersion ?? "6.2.1",
    clusterName: options.clusterName ?? "teleport.example.com",
    ...options.teleport,
  });
  let mattermost: MattermostStandin | undefined;
  try {
    mattermost = await MattermostStandin.start({
      allowedUntrustedInternalConnections: LOOPBACK_ALLOWED,
      insecureOutgoingConnections: true,
      ...options.mattermost,
    });
    const identity = await teleport.issueIdentity(PLUGIN_USER, options.pluginRoles ?? [PLUGIN_ROLE], {
      notAfter: new Date(Date.now() + PLUGIN_IDENTITY_TTL_MS),
    });
    const team = mattermost.createTeam(TEAM_NAME, { displayName: "Acme" });
    const channel = mattermost.createChannel(team.id, CHANNEL_NAME, { displayName: "Access requests" });
    const bot = mattermost.createBot("teleport", { description: "Teleport access requests" });
    mattermost.addTeamMember(team.id, bot.user.id);
    mattermost.addChannelMember(channel.id, bot.user.id);
    const place = { mattermost, team, channel };
    const requester = addPerson(place, "alice");
    const approver = addPerson(place, "bob");
    teleport.addUser("alice", ["access"]);
    teleport.addUser("bob", ["reviewer"]);
    const server = mattermost;
    return {
      teleport,
      mattermost: server,
      identity,
      bot,
      team: { id: team.id, name: TEAM_NAME },
      channel: { id: channel.id, name: CHANNEL_NAME },
      requester,
      approver,
      stop: async () => {
        await Promise.allSettled([teleport.stop(), server.stop()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([teleport.stop(), mattermost?.stop()]);
    throw error;
  }
}
