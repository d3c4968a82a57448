/**
 * What an access request looks like on each version. A new request gets the fields Teleport's
 * CreateAccessRequest fills in (WIRE §8; lib/auth/auth.go), the store keeps only the fields the
 * version's proto has (WIRE §3 columns), and answers carry what Go always emits for
 * nullable=false fields (WIRE §4).
 */
import { clone, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AccessRequestV3,
  AccessRequestV3Schema,
  AccessReviewThresholdSchema,
  RequestState,
  ThresholdIndexSetsSchema,
} from "../../teleport/gen/teleport/types_pb.js";
import { badParameter } from "./errors.js";
import type { VersionProfile } from "./versions.js";
import {
  DEFAULT_NAMESPACE,
  emptyLabelValues,
  goZeroTime,
  HOUR_MS,
  KIND_ACCESS_REQUEST,
  type ResourceCounter,
  revisionFields,
  sortedUnique,
  toDate,
  V3,
} from "./wire.js";

/** Pending requests expire after an hour (WIRE §8: Metadata.Expires = created + 1 h). */
export const PENDING_TTL_MS = HOUR_MS;
/** Granted access lasts 30 h by default (WIRE §8: Spec.Expires = created + 30 h). */
export const ACCESS_TTL_MS = 30 * HOUR_MS;

export interface Thresholds {
  approve: number;
  deny: number;
}

/** How long a new request stays pending, how long its access lasts, and its one threshold. */
export interface CreationOptions {
  pendingTtlMs: number;
  accessTtlMs: number;
  thresholds: Thresholds;
}

export class RequestShape {
  constructor(
    private readonly profile: VersionProfile,
    private readonly now: () => Date,
    private readonly resourceIds: ResourceCounter,
  ) {}

  /**
   * Fills in what Teleport's CreateAccessRequest sets (WIRE §8; auth.go): created = now, access
   * expiry = now + 30 h (or the earlier one asked for), resource expiry capped at now + 1 h while
   * pending, roles sorted and deduplicated, one default threshold mapped to every role (6.2+).
   */
  build(incoming: AccessRequestV3, options: CreationOptions): AccessRequestV3 {
    const spec = incoming.spec;
    const id = incoming.metadata?.name ?? "";
    if (id === "") throw badParameter("access request id not set");
    if (!spec || spec.user === "") throw badParameter("access request user name not set");
    const roles = sortedUnique(spec.roles);
    if (roles.length === 0) throw badParameter("access request does not specify any roles");
    const now = this.now();
    const defaultAccessExpiry = new Date(now.getTime() + options.accessTtlMs);
    const askedAccessExpiry = toDate(spec.expires);
    const accessExpires =
      askedAccessExpiry && askedAccessExpiry > now && askedAccessExpiry < defaultAccessExpiry
        ? askedAccessExpiry
        : defaultAccessExpiry;
    const state = spec.state === RequestState.NONE ? RequestState.PENDING : spec.state;
    const pendingExpiry = new Date(now.getTime() + options.pendingTtlMs);
    const resourceExpires =
      state === RequestState.PENDING && pendingExpiry < accessExpires ? pendingExpiry : accessExpires;
    const request = create(AccessRequestV3Schema, {
      kind: KIND_ACCESS_REQUEST,
      version: V3,
      metadata: { name: id, namespace: DEFAULT_NAMESPACE, expires: timestampFromDate(resourceExpires) },
      spec: {
        user: spec.user,
        roles,
        state,
        created: timestampFromDate(now),
        expires: timestampFromDate(accessExpires),
        requestReason: spec.requestReason,
        suggestedReviewers: spec.suggestedReviewers,
        requestedResourceIds: spec.requestedResourceIds,
        loginHint: spec.loginHint,
        dryRun: spec.dryRun,
        thresholds: [
          create(AccessReviewThresholdSchema, {
            name: "default",
            approve: options.thresholds.approve,
            deny: options.thresholds.deny,
          }),
        ],
        roleThresholdMapping: Object.fromEntries(
          roles.map((role) => [role, create(ThresholdIndexSetsSchema, { sets: [{ indexes: [0] }] })]),
        ),
      },
    });
    if (this.profile.modern && request.spec) {
      // 18.0's nullable=false MaxDuration/SessionTTL: Teleport derives them from the access expiry.
      request.spec.maxDuration = timestampFromDate(accessExpires);
      request.spec.sessionTtl = timestampFromDate(accessExpires);
    }
    return this.stripUnknownFields(request);
  }

  /** Gives a request being stored a new revision, in the field its version has. */
  stampRevision(request: AccessRequestV3): void {
    const metadata = request.metadata;
    if (!metadata) return;
    Object.assign(metadata, revisionFields(this.profile.modern, this.resourceIds.next()));
  }

  /** Drops what the version's proto does not have, so the store never holds it (WIRE §3 columns). */
  stripUnknownFields(request: AccessRequestV3): AccessRequestV3 {
    const spec = request.spec;
    if (!spec) return request;
    if (!this.profile.reasons) {
      spec.requestReason = "";
      spec.resolveReason = "";
      spec.resolveAnnotations = undefined;
      spec.systemAnnotations = undefined;
    }
    if (!this.profile.reviews) {
      spec.thresholds = [];
      spec.roleThresholdMapping = {};
      spec.reviews = [];
      spec.suggestedReviewers = [];
    }
    if (!this.profile.modern) {
      spec.requestedResourceIds = [];
      spec.loginHint = "";
      spec.dryRun = false;
      spec.maxDuration = undefined;
      spec.sessionTtl = undefined;
      spec.assumeStartTime = undefined;
      spec.resourceExpiry = undefined;
      for (const review of spec.reviews) review.assumeStartTime = undefined;
    }
    // The 2026 fields (WIRE §9): only the newest profile knows the review ones.
    spec.requestKind = 0;
    if (!this.profile.reviewsOnBehalf) {
      for (const review of spec.reviews) {
        review.submittedBy = "";
        review.submittedOnBehalfOfAuthor = false;
      }
    }
    return request;
  }

  /**
   * The request as this version puts it on the wire: Go always emits nullable=false fields, so
   * LabelValues (4.4+) go out empty and unset review times as 0001-01-01 (WIRE §4).
   */
  project(request: AccessRequestV3): AccessRequestV3 {
    const copy = clone(AccessRequestV3Schema, request);
    const spec = copy.spec;
    if (!spec) return copy;
    if (this.profile.reasons) {
      spec.resolveAnnotations ??= emptyLabelValues();
      spec.systemAnnotations ??= emptyLabelValues();
    }
    for (const review of spec.reviews) {
      if (review.created === undefined) review.created = goZeroTime();
      review.annotations ??= emptyLabelValues();
    }
    return copy;
  }
}
