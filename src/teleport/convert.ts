/**
 * Converts generated protobuf messages into the daemon's own plain types (core/access-request).
 * Teleport's Go side always emits non-nullable timestamps; an unset one arrives as
 * 0001-01-01T00:00:00Z (TELEPORT-WIRE.md §4) and is treated as "no time".
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { AccessRequest, AccessReview, RequestState } from "../core/access-request.js";
import { type Event, Operation } from "./gen/teleport/authservice_pb.js";
import {
  AccessRequestKind,
  type AccessRequestV3,
  type AccessReview as ProtoAccessReview,
  RequestState as ProtoRequestState,
} from "./gen/teleport/types_pb.js";

/** Seconds of 0001-01-01T00:00:00Z, Go's zero time.Time on the wire. */
export const GO_ZERO_TIME_SECONDS = -62135596800n;

export function timestampToDate(ts: Pick<Timestamp, "seconds" | "nanos"> | undefined): Date | undefined {
  if (!ts || ts.seconds <= GO_ZERO_TIME_SECONDS) return undefined;
  if (ts.seconds === 0n && ts.nanos === 0) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
}

const STATE_NAMES: Record<ProtoRequestState, RequestState> = {
  [ProtoRequestState.NONE]: "NONE",
  [ProtoRequestState.PENDING]: "PENDING",
  [ProtoRequestState.APPROVED]: "APPROVED",
  [ProtoRequestState.DENIED]: "DENIED",
  [ProtoRequestState.PROMOTED]: "PROMOTED",
};

export function stateFromProto(state: ProtoRequestState): RequestState {
  return STATE_NAMES[state] ?? "NONE";
}

export function stateToProto(state: RequestState): ProtoRequestState {
  return ProtoRequestState[state];
}

function reviewFromProto(review: ProtoAccessReview): AccessReview {
  return {
    author: review.author,
    roles: [...review.roles],
    proposedState: stateFromProto(review.proposedState),
    reason: review.reason,
    created: timestampToDate(review.created),
  };
}

export function accessRequestFromProto(request: AccessRequestV3): AccessRequest {
  const spec = request.spec;
  return {
    id: request.metadata?.name ?? "",
    user: spec?.user ?? "",
    roles: [...(spec?.roles ?? [])],
    state: stateFromProto(spec?.state ?? ProtoRequestState.NONE),
    requestReason: spec?.requestReason ?? "",
    resolveReason: spec?.resolveReason ?? "",
    created: timestampToDate(spec?.created),
    accessExpires: timestampToDate(spec?.expires),
    requestExpires: timestampToDate(request.metadata?.expires),
    suggestedReviewers: [...(spec?.suggestedReviewers ?? [])],
    systemAnnotations: Object.fromEntries(
      Object.entries(spec?.systemAnnotations?.values ?? {}).map(([key, values]) => [key, [...values.values]]),
    ),
    resources: (spec?.requestedResourceIds ?? []).map((id) => ({
      cluster: id.clusterName,
      kind: id.kind,
      name: id.name,
      subResource: id.subResourceName,
    })),
    reviews: (spec?.reviews ?? []).map(reviewFromProto),
    thresholdApprovals: Math.max(0, ...(spec?.thresholds ?? []).map((t) => t.approve)),
    dryRun: spec?.dryRun ?? false,
    longTerm: spec?.requestKind === AccessRequestKind.LONG_TERM,
  };
}

export type WatchEvent =
  | { type: "init" }
  | { type: "put"; request: AccessRequest }
  | { type: "delete"; id: string };

/**
 * Reads a watch event: INIT; a PUT whose resource `put` reads (undefined: another kind); a
 * DELETE, which carries only a ResourceHeader with the name (TELEPORT-WIRE.md §5).
 */
export function watchEventOf<T>(
  event: Event,
  put: (resource: Event["resource"]) => T | undefined,
  deleted: (name: string) => T,
): T | { type: "init" } | undefined {
  switch (event.type) {
    case Operation.INIT:
      return { type: "init" };
    case Operation.PUT:
      return put(event.resource);
    case Operation.DELETE:
      return event.resource.case === "resourceHeader"
        ? deleted(event.resource.value.metadata?.name ?? "")
        : undefined;
    default:
      return undefined;
  }
}

/** A watch event on access requests, or undefined for another kind. */
export function watchEventFromProto(event: Event): WatchEvent | undefined {
  return watchEventOf<WatchEvent>(
    event,
    (resource) =>
      resource.case === "accessRequest"
        ? { type: "put", request: accessRequestFromProto(resource.value) }
        : undefined,
    (id) => ({ type: "delete", id }),
  );
}
