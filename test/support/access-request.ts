/** A plain access request for unit tests (core/access-request's shape), changed by `extra`. */
import type { AccessRequest } from "../../src/core/access-request.js";

export function sampleRequest(extra: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: "r1",
    user: "alice",
    roles: ["editor"],
    state: "PENDING",
    requestReason: "deploy",
    resolveReason: "",
    created: new Date(0),
    accessExpires: undefined,
    requestExpires: undefined,
    suggestedReviewers: [],
    systemAnnotations: {},
    resources: [],
    reviews: [],
    thresholdApprovals: 0,
    dryRun: false,
    longTerm: false,
    ...extra,
  };
}
