/**
 * Access reviews (6.2+; WIRE §3 "Reviews and thresholds", §9). Who may submit a review: the
 * author is the caller, or the caller holds the builtin Admin role, or (newest servers) the
 * caller's role has `review_requests.submit_for_users` and field 12 is set — then the review is
 * judged with the author's permissions (lib/auth/auth_with_roles.go SubmitAccessReview,
 * services.NewReviewPermissionChecker). How a review applies: api/types/access_request.go
 * ApplyReview on 6.2, lib/services/access_request.go ApplyAccessReview on 18, with the
 * threshold arithmetic of lib/services/access_request.go.
 */
import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AccessRequestV3,
  AccessRequestV3Schema,
  type AccessReview,
  AccessReviewSchema,
  type AccessReviewThreshold,
  RequestState,
  type ThresholdIndexSets,
} from "../../teleport/gen/teleport/types_pb.js";
import type { AuthHandlers, StandinContext } from "./context.js";
import { accessDenied, badParameter, notFound, notImplemented } from "./errors.js";
import { emptyLabelValues, isGoZeroTime, sortedUnique, stateName } from "./wire.js";

export type ReviewContext = Pick<StandinContext, "requests" | "shape" | "profile" | "now" | "audit">;

/**
 * Review application: proposal must be APPROVED/DENIED; one review per author; a requester
 * cannot review their own request; thresholds decide the state (default 1 approval / 1 denial).
 * On 6.2 a review of a resolved request is stored without effect and an unset Created stays
 * unset; 18.0 refuses resolved requests and stamps Created.
 */
export function applyReview(
  context: ReviewContext,
  id: string,
  incoming: AccessReview,
  by: string | undefined,
): AccessRequestV3 {
  const current = context.requests.get(id);
  if (!current?.spec) throw notFound(`cannot apply review to access request "${id}" (not found)`);
  // A requester may not review their own request (services.ReviewPermissionChecker).
  if (incoming.author === current.spec.user) {
    throw accessDenied(`user "${incoming.author}" cannot review request "${id}"`);
  }
  const review = clone(AccessReviewSchema, incoming);
  if (review.proposedState !== RequestState.APPROVED && review.proposedState !== RequestState.DENIED) {
    throw badParameter(
      `invalid state proposal: ${stateName(review.proposedState)} (expected approval/denial)`,
    );
  }
  const request = clone(AccessRequestV3Schema, current);
  const spec = request.spec as NonNullable<AccessRequestV3["spec"]>;
  if (spec.thresholds.length === 0) {
    throw badParameter("request is uninitialized or does not support reviews");
  }
  if (spec.reviews.some((existing) => existing.author === review.author)) {
    throw accessDenied(`user "${review.author}" has already reviewed this request`);
  }
  review.roles = sortedUnique(review.roles);
  const mappedRoles = Object.keys(spec.roleThresholdMapping);
  if (review.roles.length !== 0 && review.roles.length !== mappedRoles.length) {
    throw notImplemented("reviews cannot perform role subselection");
  }
  for (const role of review.roles) {
    if (!mappedRoles.includes(role)) throw badParameter(`role "${role}" is not a member of this request`);
  }
  if (context.profile.modern) {
    if (isGoZeroTime(review.created)) review.created = timestampFromDate(context.now());
    if (spec.state !== RequestState.PENDING) {
      throw accessDenied(`the access request has been already ${stateName(spec.state).toLowerCase()}`);
    }
  }
  // Thresholds have no filters here, so every review counts toward all of them.
  review.thresholdIndexes = spec.thresholds.map((_, index) => index);
  spec.reviews.push(review);
  if (spec.state === RequestState.PENDING) {
    const resolution = resolveByThresholds(spec.thresholds, spec.roleThresholdMapping, spec.reviews);
    if (resolution !== undefined) {
      spec.state = resolution;
      spec.resolveReason = review.reason;
      spec.resolveAnnotations = review.annotations ?? emptyLabelValues();
      if (resolution === RequestState.APPROVED && request.metadata) request.metadata.expires = spec.expires;
    }
  }
  context.requests.replace(context.shape.stripUnknownFields(request));
  context.audit.push({
    event: "access_request.review",
    id,
    by,
    state: stateName(review.proposedState),
    ...(review.reason ? { reason: review.reason } : {}),
    at: context.now(),
  });
  return request;
}

/**
 * Threshold arithmetic of Teleport's review logic: any threshold reaching its denial count
 * denies; the request is approved once every role has, in each of its threshold sets, a
 * threshold that reached its approval count. Undefined = still pending.
 */
function resolveByThresholds(
  thresholds: AccessReviewThreshold[],
  roleThresholdMapping: Record<string, ThresholdIndexSets>,
  reviews: AccessReview[],
): RequestState | undefined {
  const counts = thresholds.map(() => ({ approve: 0, deny: 0 }));
  for (const review of reviews) {
    for (const index of review.thresholdIndexes) {
      const count = counts[index];
      if (!count) continue;
      if (review.proposedState === RequestState.APPROVED) count.approve += 1;
      else if (review.proposedState === RequestState.DENIED) count.deny += 1;
    }
    if (
      thresholds.some(
        (threshold, index) => threshold.deny !== 0 && (counts[index]?.deny ?? 0) >= threshold.deny,
      )
    ) {
      return RequestState.DENIED;
    }
  }
  const roles = Object.values(roleThresholdMapping);
  const approved =
    roles.length > 0 &&
    roles.every((sets) =>
      sets.sets.every((set) =>
        set.indexes.some((index) => {
          const threshold = thresholds[index];
          return (
            threshold !== undefined &&
            threshold.approve !== 0 &&
            (counts[index]?.approve ?? 0) >= threshold.approve
          );
        }),
      ),
    );
  return approved ? RequestState.APPROVED : undefined;
}

export function reviewMethods(
  context: ReviewContext & Pick<StandinContext, "permissions" | "users">,
): AuthHandlers<"submitAccessReview"> {
  const { permissions, profile, users } = context;
  return {
    /**
     * SubmitAccessReview (6.2+): the author must be the caller unless the caller holds the builtin
     * Admin role (WIRE §9 "older servers"); the caller then needs review permissions.
     */
    submitAccessReview: {
      unary: (req, caller) => {
        const review = clone(AccessReviewSchema, req.review ?? create(AccessReviewSchema));
        if (profile.modern && review.proposedState === RequestState.PROMOTED) {
          throw badParameter("state promoted can be only set when promoting to access list");
        }
        const callerName = caller?.user ?? "";
        if (review.author === "") review.author = callerName;
        // Older servers skip field 12 as unknown (WIRE §9 "older servers").
        const onBehalf = profile.reviewsOnBehalf && review.submittedOnBehalfOfAuthor;
        if (!permissions.isAdmin(caller)) {
          if (review.author !== callerName) {
            if (!onBehalf || !permissions.maySubmitFor(caller, review.author)) {
              throw accessDenied(
                `user "${callerName}" cannot submit reviews on behalf of "${review.author}"`,
              );
            }
            // With submit_for_users the caller's own review_requests do not matter (WIRE §9).
            review.submittedBy = callerName;
          } else if (!caller || !permissions.canReview(caller.roles)) {
            throw accessDenied(`user "${callerName}" cannot submit reviews`);
          }
        }
        // The review is judged with the author's own permissions (services.NewReviewPermissionChecker).
        const authorRoles =
          review.author === callerName && caller ? caller.roles : users.rolesOf(review.author);
        if (authorRoles === undefined) throw notFound(`user "${review.author}" is not found`);
        if (!permissions.canReview(authorRoles)) {
          throw accessDenied(`user "${review.author}" cannot submit reviews`);
        }
        return context.shape.project(applyReview(context, req.requestId, review, caller?.user));
      },
    },
  };
}
