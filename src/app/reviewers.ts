/**
 * Who is deciding: the Mattermost account behind a user id (read from Mattermost's API, not from
 * the callback body) and the Teleport user it maps to under `[review]` (core/review-policy). A
 * user that does not map is refused with a message that says how to get mapped.
 */
import type { Logger } from "pino";
import type { ReviewConfig } from "../config/config.js";
import { mappingCandidates, teamsNamed, traitMatches } from "../core/review-policy.js";
import { isAppError } from "../errors.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { MattermostUser } from "../mattermost/types.js";
import type { TeleportClient } from "../teleport/client.js";

export interface Reviewer {
  mattermost: MattermostUser;
  teleportUser: string;
  /** Teams named in the approver rules that the user belongs to. */
  teams: string[];
}

export type Identification =
  | { ok: true; reviewer: Reviewer }
  | { ok: false; reason: string; message: string };

export interface ReviewersDeps {
  teleport: TeleportClient;
  mattermost: MattermostClient;
  review: ReviewConfig;
  logger: Logger;
}

export class Reviewers {
  /** Team name → id, resolved on first use (team ids never change). */
  private readonly teamIds = new Map<string, string>();

  constructor(private readonly deps: ReviewersDeps) {}

  async identify(mattermostUserId: string, signal: AbortSignal): Promise<Identification> {
    const { mattermost, review } = this.deps;
    let user: MattermostUser;
    try {
      user = await mattermost.getUser(mattermostUserId, signal);
    } catch (error) {
      if (!isAppError(error, "NOT_FOUND")) throw error;
      return { ok: false, reason: "unknown_user", message: "Your Mattermost account could not be found." };
    }
    if (user.is_bot) {
      return { ok: false, reason: "bot", message: "Bot accounts cannot decide access requests." };
    }
    // Team memberships are asked while Teleport maps the user.
    const teams = this.teamsOf(user.id, signal);
    teams.catch(() => {}); // awaited below unless the user is not mapped
    const teleportUser = await this.mapToTeleport(user);
    if (!teleportUser) {
      return { ok: false, reason: "unmapped", message: unmappedMessage(user, review) };
    }
    return { ok: true, reviewer: { mattermost: user, teleportUser, teams: await teams } };
  }

  private async mapToTeleport(user: MattermostUser): Promise<string | undefined> {
    const { mapping } = this.deps.review;
    for (const candidate of mappingCandidates(mapping, user)) {
      const found = await this.deps.teleport.getUser(candidate.teleportUser);
      if (!found) continue;
      if (candidate.via === "trait" && !traitMatches(found.traits, mapping.mattermostUserTrait ?? "", user)) {
        this.deps.logger.info(
          { mm_user: user.username, teleport_user: found.name, trait: mapping.mattermostUserTrait },
          "Teleport user of the same name does not carry the Mattermost user in its trait; not mapped",
        );
        continue;
      }
      return found.name;
    }
    return undefined;
  }

  private async teamsOf(userId: string, signal: AbortSignal): Promise<string[]> {
    const teams: string[] = [];
    for (const name of teamsNamed(this.deps.review.rules)) {
      try {
        let id = this.teamIds.get(name);
        if (id === undefined) {
          id = (await this.deps.mattermost.getTeamByName(name, signal)).id;
          this.teamIds.set(name, id);
        }
        await this.deps.mattermost.getTeamMember(id, userId, signal);
        teams.push(name);
      } catch (error) {
        // Not a member (404), or a team the bot cannot see: either way not a way in.
        if (!isAppError(error, "NOT_FOUND") && !isAppError(error, "MATTERMOST")) throw error;
      }
    }
    return teams;
  }
}

function unmappedMessage(user: MattermostUser, review: ReviewConfig): string {
  const ways = [
    `add "${user.username}" = "<your Teleport user>" under [review.users] in the plugin's configuration`,
  ];
  if (review.mapping.mattermostUserTrait) {
    ways.push(
      `set the trait ${review.mapping.mattermostUserTrait} = ["${user.id}"] on the Teleport user named ${user.username}`,
    );
  }
  return (
    `Your Mattermost account @${user.username} is not linked to a Teleport user, so it cannot decide access requests. ` +
    `Ask a Teleport administrator to ${ways.join(", or to ")}.`
  );
}
