/** A plain access request for unit tests (core/access-request's shape), changed by `extra`. */
import { type AccessRequest, emptyAccessRequest } from "../../src/core/access-request.js";

export function sampleRequest(extra: Partial<AccessRequest> = {}): AccessRequest {
  return {
    ...emptyAccessRequest(),
    id: "r1",
    user: "alice",
    roles: ["editor"],
    state: "PENDING",
    requestReason: "deploy",
    created: new Date(0),
    ...extra,
  };
}
