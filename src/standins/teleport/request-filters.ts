/**
 * Which requests a caller gets. `AccessRequestFilter` (id, user, state; NONE = any state, WIRE §3
 * "Filters and plugin data"), the watch filter map parsed like Teleport's
 * `AccessRequestFilter.FromMap` (WIRE §5), and the visibility rule of
 * lib/auth/auth_with_roles.go: list+read see everything, others their own requests — or every
 * request if they may review.
 */
import type { AccessRequestFilter, AccessRequestV3 } from "../../teleport/gen/teleport/types_pb.js";
import { RequestState } from "../../teleport/gen/teleport/types_pb.js";
import { badParameter } from "./errors.js";
import type { CallerIdentity, Permissions } from "./permissions.js";
import type { RequestStore } from "./requests.js";
import type { TeleportVersion } from "./versions.js";
import { KIND_ACCESS_REQUEST } from "./wire.js";

export interface ParsedRequestFilter {
  id: string;
  user: string;
  state: RequestState;
}

export function matchesFilter(request: AccessRequestV3, filter: ParsedRequestFilter): boolean {
  if (filter.id !== "" && request.metadata?.name !== filter.id) return false;
  if (filter.user !== "" && request.spec?.user !== filter.user) return false;
  if (filter.state !== RequestState.NONE && request.spec?.state !== filter.state) return false;
  return true;
}

/**
 * WatchKind.Filter → AccessRequestFilter, as Teleport's `FromMap` does it (WIRE §5): keys `id`,
 * `user`, `state` (enum name); anything else is BadParameter `unknown filter key <k>`.
 */
export function parseWatchFilter(
  filter: Record<string, string>,
  version: TeleportVersion,
): ParsedRequestFilter {
  const parsed: ParsedRequestFilter = { id: "", user: "", state: RequestState.NONE };
  for (const [key, value] of Object.entries(filter)) {
    switch (key) {
      case "id":
        parsed.id = value;
        break;
      case "user":
        parsed.user = value;
        break;
      case "state": {
        const states = [
          "NONE",
          "PENDING",
          "APPROVED",
          "DENIED",
          ...(version === "18.0.0" ? ["PROMOTED"] : []),
        ];
        if (!states.includes(value)) throw badParameter(`unknown request state: "${value}"`);
        parsed.state = RequestState[value as keyof typeof RequestState];
        break;
      }
      default:
        throw badParameter(`unknown filter key ${key}`);
    }
  }
  return parsed;
}

/**
 * Requests a caller may see: all with list+read; otherwise (auth_with_roles.go, not in WIRE.md)
 * their own, plus every other user's if they may review. Callers without a certificate get none.
 */
export function visibleRequests(
  requests: RequestStore,
  permissions: Permissions,
  filter: AccessRequestFilter,
  caller: CallerIdentity | undefined,
): AccessRequestV3[] {
  if (!caller) permissions.requireVerbs(caller, KIND_ACCESS_REQUEST, "list", "read");
  const parsed: ParsedRequestFilter = { id: filter.id, user: filter.user, state: filter.state };
  // An id names at most one request: look it up instead of sorting them all (a click's lookup).
  const byId = filter.id === "" ? undefined : requests.get(filter.id);
  const candidates = filter.id === "" ? requests.sorted() : byId ? [byId] : [];
  const all = candidates.filter((request) => matchesFilter(request, parsed));
  if (
    permissions.hasVerb(caller, KIND_ACCESS_REQUEST, "list") &&
    permissions.hasVerb(caller, KIND_ACCESS_REQUEST, "read")
  ) {
    return all;
  }
  const user = caller?.user;
  if (caller && permissions.canReview(caller.roles)) return all;
  return all.filter((request) => request.spec?.user === user);
}
