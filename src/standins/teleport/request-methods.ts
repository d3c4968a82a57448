/**
 * The access request methods of `proto.AuthService` (WIRE §1–2): listing (GetAccessRequests,
 * the 18.0 stream GetAccessRequestsV2 and paged ListAccessRequests), creating (V1 returns
 * Empty, V2 sets the ID and returns the request), deleting and SetAccessRequestState. The
 * permission rules are lib/auth/auth_with_roles.go's; the store semantics live in requests.ts.
 */
import { clone, create, toBinary } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import {
  AccessRequestSort,
  type ListAccessRequestsRequest,
  type ListAccessRequestsResponse,
  ListAccessRequestsResponseSchema,
} from "../../teleport/gen/teleport/authservice_pb.js";
import {
  type AccessRequestFilter,
  AccessRequestFilterSchema,
  type AccessRequestV3,
  AccessRequestV3Schema,
  MetadataSchema,
  RequestState,
} from "../../teleport/gen/teleport/types_pb.js";
import type { AuthHandlers, StandinContext } from "./context.js";
import { EncodedList, EncodingsByObject } from "./encoding.js";
import { accessDenied, badParameter } from "./errors.js";
import type { CallerIdentity } from "./permissions.js";
import { visibleRequests } from "./request-filters.js";
import { KIND_ACCESS_REQUEST, toDate } from "./wire.js";

/** ListAccessRequests page size when the caller sets no limit. */
const DEFAULT_PAGE_SIZE = 1000;

type RequestContext = Pick<
  StandinContext,
  "requests" | "permissions" | "shape" | "profile" | "calls" | "newId" | "creation"
>;

type RequestMethod =
  | "getAccessRequests"
  | "getAccessRequestsV2"
  | "listAccessRequests"
  | "createAccessRequest"
  | "createAccessRequestV2"
  | "deleteAccessRequest"
  | "setAccessRequestState";

export function requestMethods(context: RequestContext): AuthHandlers<RequestMethod> {
  const { requests, permissions, shape, calls } = context;
  // Encoded projections of stored requests; stored requests are replaced, never changed.
  const encodings = new EncodingsByObject<AccessRequestV3>();
  const visible = (filter: AccessRequestFilter, caller: CallerIdentity | undefined) =>
    visibleRequests(requests, permissions, filter, caller);
  return {
    getAccessRequests: {
      unary: (filter, caller) =>
        new EncodedList(
          visible(filter, caller).map((request) =>
            encodings.get(request, () => toBinary(AccessRequestV3Schema, shape.project(request))),
          ),
        ),
    },
    getAccessRequestsV2: {
      stream: (call, caller, record) => {
        for (const request of visible(call.request, caller)) call.write(shape.project(request));
        calls.finish(record, status.OK);
        call.end();
      },
    },
    listAccessRequests: {
      unary: (req, caller) =>
        listPage(context, visible(req.filter ?? create(AccessRequestFilterSchema), caller), req),
    },
    createAccessRequest: {
      unary: (req, caller) => {
        createFromClient(context, req, caller, false);
        return create(EmptySchema);
      },
    },
    createAccessRequestV2: { unary: (req, caller) => createFromClient(context, req, caller, true) },
    deleteAccessRequest: {
      unary: (req, caller) => {
        permissions.requireVerbs(caller, KIND_ACCESS_REQUEST, "delete");
        requests.remove(req.id, caller?.user);
        return create(EmptySchema);
      },
    },
    setAccessRequestState: {
      unary: (req, caller) => {
        permissions.requireVerbs(caller, KIND_ACCESS_REQUEST, "update");
        if (context.profile.modern) {
          if (req.state === RequestState.PROMOTED) {
            throw badParameter("state promoted can be only set when promoting to access list");
          }
          const target = requests.get(req.id);
          if (target && caller && target.spec?.user === caller.user) {
            throw accessDenied("directly updating the state of your own access requests is not permitted");
          }
        }
        const { delegator, reasons } = context.profile;
        // Fields the version does not know are skipped by its proto3 decoder (WIRE §2 version columns).
        requests.setState(
          req.id,
          req.state,
          {
            ...(delegator ? { delegator: req.delegator } : {}),
            ...(reasons ? { reason: req.reason, roles: req.roles } : {}),
            ...(reasons && req.annotations ? { annotations: req.annotations } : {}),
          },
          caller?.user,
        );
        return create(EmptySchema);
      },
    },
  };
}

/** 18.0 paging: sorted by the requested index, `NextKey` = opaque key of the next page's first item. */
function listPage(
  context: Pick<StandinContext, "shape">,
  visible: AccessRequestV3[],
  req: ListAccessRequestsRequest,
): ListAccessRequestsResponse {
  const sortKey = (request: AccessRequestV3): string => {
    const created = String(toDate(request.spec?.created)?.getTime() ?? 0).padStart(16, "0");
    const id = request.metadata?.name ?? "";
    switch (req.sort) {
      case AccessRequestSort.STATE:
        return `${String(request.spec?.state ?? 0).padStart(2, "0")}/${created}/${id}`;
      case AccessRequestSort.USER:
        return `${request.spec?.user ?? ""}/${created}/${id}`;
      default:
        return `${created}/${id}`;
    }
  };
  const keyed = visible.map((request) => ({ key: sortKey(request), request }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (req.descending) keyed.reverse();
  const startKey = req.startKey === "" ? undefined : Buffer.from(req.startKey, "base64url").toString("utf8");
  const from =
    startKey === undefined
      ? keyed
      : keyed.filter(({ key }) => (req.descending ? key <= startKey : key >= startKey));
  const limit = req.limit > 0 ? req.limit : DEFAULT_PAGE_SIZE;
  const page = from.slice(0, limit);
  const next = from[limit];
  return create(ListAccessRequestsResponseSchema, {
    accessRequests: page.map(({ request }) => context.shape.project(request)),
    nextKey: next ? Buffer.from(next.key, "utf8").toString("base64url") : "",
  });
}

/**
 * CreateAccessRequest(V2). Users may create pending requests for themselves; anything else
 * needs `create` (auth_with_roles.go). V2 sets the ID server-side and returns the request;
 * a V2 dry run is answered without being stored.
 */
function createFromClient(
  context: RequestContext,
  req: AccessRequestV3,
  caller: CallerIdentity | undefined,
  v2: boolean,
): AccessRequestV3 {
  const { permissions, shape } = context;
  const state = req.spec?.state ?? RequestState.NONE;
  const pending = state === RequestState.NONE || state === RequestState.PENDING;
  if (!permissions.hasVerb(caller, KIND_ACCESS_REQUEST, "create")) {
    if (!pending || caller === undefined || caller.user !== req.spec?.user) {
      permissions.requireVerbs(caller, KIND_ACCESS_REQUEST, "create");
    }
  }
  const incoming = clone(AccessRequestV3Schema, req);
  incoming.metadata ??= create(MetadataSchema);
  if (v2) incoming.metadata.name = context.newId();
  if (v2 && incoming.spec?.dryRun) return shape.project(shape.build(incoming, context.creation));
  return shape.project(context.requests.insert(incoming, { ...context.creation, by: caller?.user }));
}
