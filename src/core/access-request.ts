/**
 * The daemon's own view of a Teleport access request: plain data, decoupled from the
 * generated protobuf types so that core/ stays pure and independent of the wire.
 */
export type RequestState = "NONE" | "PENDING" | "APPROVED" | "DENIED" | "PROMOTED";

/** One resource of a resource access request (Teleport 10+ `RequestedResourceIDs`). */
export interface RequestedResource {
  cluster: string;
  /** e.g. `node`, `db`, `app`, `kube_cluster`, `namespace`. */
  kind: string;
  name: string;
  /** e.g. a Kubernetes namespace or `namespace/pod`; "" when none. */
  subResource: string;
}

export interface AccessReview {
  author: string;
  roles: string[];
  proposedState: RequestState;
  reason: string;
  /** Undefined when Teleport sent its "unset" timestamp (0001-01-01). */
  created: Date | undefined;
}

export interface AccessRequest {
  id: string;
  /** The requesting Teleport user. */
  user: string;
  roles: string[];
  state: RequestState;
  requestReason: string;
  resolveReason: string;
  created: Date | undefined;
  /** When the granted access would expire (Spec.Expires). */
  accessExpires: Date | undefined;
  /** When the request itself expires if nobody decides (Metadata.Expires). */
  requestExpires: Date | undefined;
  suggestedReviewers: string[];
  /** Annotations Teleport adds from the requester's roles (4.4+), e.g. `pagerduty_services`. */
  systemAnnotations: Record<string, string[]>;
  /** The resources a resource access request asks for (`tsh request create --resource`); [] for role requests. */
  resources: RequestedResource[];
  reviews: AccessReview[];
  /** Approvals needed by the thresholds (0 when the server has none). */
  thresholdApprovals: number;
  dryRun: boolean;
  longTerm: boolean;
}

/** A request with nothing set, as a message without fields reads (teleport/access-request-wire). */
export function emptyAccessRequest(): AccessRequest {
  return {
    id: "",
    user: "",
    roles: [],
    state: "NONE",
    requestReason: "",
    resolveReason: "",
    created: undefined,
    accessExpires: undefined,
    requestExpires: undefined,
    suggestedReviewers: [],
    systemAnnotations: {},
    resources: [],
    reviews: [],
    thresholdApprovals: 0,
    dryRun: false,
    longTerm: false,
  };
}

/** A Teleport user as far as mapping a Mattermost user needs it. */
export interface TeleportUser {
  name: string;
  roles: string[];
  /** Trait name → values (UserSpecV2.Traits). */
  traits: Record<string, string[]>;
}
