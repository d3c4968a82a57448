/**
 * The tctl-like helpers tests and the demo drive the cluster with: `tctl request create`,
 * `approve`, `deny`, `review`, `rm`, and the backend's expiry sweep. They act on the store
 * directly as the local admin (no permission checks), with the same rules and errors as the
 * gRPC methods (requests.ts, reviews.ts), and return requests as this version would send them.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AccessRequestV3,
  AccessRequestV3Schema,
  AccessReviewSchema,
  RequestState,
  ResourceIDSchema,
} from "../../teleport/gen/teleport/types_pb.js";
import type { StandinContext } from "./context.js";
import { notImplemented } from "./errors.js";
import type { Thresholds } from "./request-shape.js";
import type { ResolveInput } from "./requests.js";
import { applyReview, type ReviewContext } from "./reviews.js";
import { KIND_ACCESS_REQUEST, V3 } from "./wire.js";

export interface CreateRequestInput {
  user: string;
  roles: string[];
  /** Request ID (default from the id generator). */
  id?: string;
  reason?: string;
  suggestedReviewers?: string[];
  /** How long the request stays pending before it expires (Metadata.Expires; default 1 h). */
  ttlMs?: number;
  /** How long granted access would last (Spec.Expires; default 30 h). */
  accessTtlMs?: number;
  thresholds?: Thresholds;
  state?: "PENDING" | "APPROVED" | "DENIED";
  /**
   * `tsh request create --resource /<cluster>/<kind>/<name>[/<sub-resource>]` (Teleport 10+;
   * the 18.0.0 profile here): the resources asked for. Teleport fills `roles` with the
   * requester's search_as_roles that grant them; here the caller gives those roles.
   */
  resources?: Array<{ kind: string; name: string; subResource?: string; cluster?: string }>;
}

export interface ReviewInput {
  author: string;
  state: "APPROVED" | "DENIED";
  reason?: string;
  /** Default: now. Pass `null` to leave it unset (sent as 0001-01-01 on ≤6.2, WIRE §4). */
  created?: Date | null;
}

/** `tctl request create`. */
export function createRequest(
  context: Pick<StandinContext, "newId" | "creation" | "requests" | "shape" | "profile">,
  input: CreateRequestInput,
): AccessRequestV3 {
  if (input.resources?.length && !context.profile.modern) {
    throw notImplemented("resource access requests (RequestedResourceIDs, Teleport 10+)");
  }
  const state = RequestState[input.state ?? "PENDING"];
  const request = create(AccessRequestV3Schema, {
    kind: KIND_ACCESS_REQUEST,
    version: V3,
    metadata: { name: input.id ?? context.newId() },
    spec: {
      user: input.user,
      roles: input.roles,
      state,
      requestReason: input.reason ?? "",
      suggestedReviewers: input.suggestedReviewers ?? [],
      requestedResourceIds: (input.resources ?? []).map((resource) =>
        create(ResourceIDSchema, {
          clusterName: resource.cluster ?? "",
          kind: resource.kind,
          name: resource.name,
          subResourceName: resource.subResource ?? "",
        }),
      ),
    },
  });
  const stored = context.requests.insert(request, {
    pendingTtlMs: input.ttlMs ?? context.creation.pendingTtlMs,
    accessTtlMs: input.accessTtlMs ?? context.creation.accessTtlMs,
    thresholds: input.thresholds ?? context.creation.thresholds,
    by: undefined,
  });
  return context.shape.project(stored);
}

/** `tctl request approve` / `deny`: SetAccessRequestState as the local admin. */
export function resolveRequest(
  context: Pick<StandinContext, "requests" | "shape">,
  id: string,
  state: RequestState.APPROVED | RequestState.DENIED,
  input: ResolveInput,
): AccessRequestV3 {
  return context.shape.project(context.requests.setState(id, state, input, undefined));
}

/** `tctl request review`: a review by `author` (not permission-checked, unlike over gRPC). */
export function reviewRequest(
  context: ReviewContext & Pick<StandinContext, "version">,
  id: string,
  input: ReviewInput,
): AccessRequestV3 {
  if (!context.profile.reviews) throw notImplemented(`reviews do not exist in Teleport ${context.version}`);
  const review = create(AccessReviewSchema, {
    author: input.author,
    proposedState: RequestState[input.state],
    reason: input.reason ?? "",
  });
  const created = input.created === undefined ? context.now() : input.created;
  if (created !== null) review.created = timestampFromDate(created);
  return context.shape.project(applyReview(context, id, review, undefined));
}

/** Deletes requests and plugin data whose expiry has passed; returns the expired request IDs. */
export function expireDue(context: Pick<StandinContext, "now" | "requests" | "pluginData">): string[] {
  const now = context.now().getTime();
  const expired = context.requests.expire(now);
  context.pluginData.expire(now);
  return expired;
}
