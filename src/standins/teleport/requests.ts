/**
 * The access request store and the state changes tctl and the plugins make. Create, update and
 * delete follow lib/services/local/dynamic_access.go: IDs are unique, every write gets a new
 * revision and is followed by a watch event (WIRE §5), a pending request disappears at its
 * resource expiry like a backend TTL. SetAccessRequestState follows WIRE §2 `RequestStateSetter`
 * and api/types/access_request.go. What Teleport's audit log would record is kept in `audit`.
 */
import { clone } from "@bufbuild/protobuf";
import {
  type AccessRequestV3,
  AccessRequestV3Schema,
  type LabelValues,
  RequestState,
} from "../../teleport/gen/teleport/types_pb.js";
import { alreadyExists, badParameter, notFound } from "./errors.js";
import type { CreationOptions, RequestShape } from "./request-shape.js";
import { emptyLabelValues, sortedUnique, stateName, toDate } from "./wire.js";

export type StoreChange =
  | { type: "put"; id: string; request: AccessRequestV3 }
  | { type: "delete"; id: string; reason: "deleted" | "expired" };

export interface AuditRecord {
  event:
    | "access_request.create"
    | "access_request.update"
    | "access_request.review"
    | "access_request.delete";
  id: string;
  /** Who made the call (undefined for the tctl-like API, which acts as the local admin). */
  by: string | undefined;
  state?: keyof typeof RequestState;
  /** `RequestStateSetter.Delegator`: Teleport keeps it in the audit log only, not on the request. */
  delegator?: string;
  reason?: string;
  at: Date;
}

export interface ResolveInput {
  reason?: string;
  delegator?: string;
  /** Approve only these roles (a subset of the requested ones). */
  roles?: string[];
}

/** Told of every stored change, after it is stored (the watch fan-out and the stand-in's events). */
export interface RequestListener {
  put(request: AccessRequestV3): void;
  delete(id: string, reason: "deleted" | "expired"): void;
}

export class RequestStore {
  private readonly requests = new Map<string, AccessRequestV3>();

  constructor(
    private readonly shape: RequestShape,
    private readonly now: () => Date,
    private readonly audit: AuditRecord[],
    private readonly listener: RequestListener,
  ) {}

  /** The stored request (not a copy: callers clone before changing it). */
  get(id: string): AccessRequestV3 | undefined {
    return this.requests.get(id);
  }

  /** Every request, oldest first (ties by ID). */
  sorted(): AccessRequestV3[] {
    return [...this.requests.values()].sort((a, b) => {
      const byCreated = (toDate(a.spec?.created)?.getTime() ?? 0) - (toDate(b.spec?.created)?.getTime() ?? 0);
      return byCreated !== 0 ? byCreated : (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
    });
  }

  insert(incoming: AccessRequestV3, options: CreationOptions & { by: string | undefined }): AccessRequestV3 {
    const request = this.shape.build(incoming, options);
    const id = request.metadata?.name ?? "";
    if (this.requests.has(id)) throw alreadyExists(`access request "${id}" already exists`);
    this.shape.stampRevision(request);
    this.requests.set(id, request);
    this.audit.push({
      event: "access_request.create",
      id,
      by: options.by,
      state: stateName(request.spec?.state ?? RequestState.NONE),
      at: this.now(),
    });
    this.listener.put(request);
    return request;
  }

  /** Stores a changed copy of a request (version-stripped by the caller) under a new revision. */
  replace(request: AccessRequestV3): void {
    this.shape.stampRevision(request);
    this.requests.set(request.metadata?.name ?? "", request);
    this.listener.put(request);
  }

  remove(id: string, by: string | undefined): void {
    if (!this.requests.delete(id)) throw notFound(`cannot delete access request "${id}" (not found)`);
    // Plugin data is left to expire on its own schedule (WIRE §3): plugins read it on DELETE.
    this.audit.push({ event: "access_request.delete", id, by, at: this.now() });
    this.listener.delete(id, "deleted");
  }

  /** Deletes the requests whose resource expiry has passed; returns their IDs. */
  expire(nowMs: number): string[] {
    const expired: string[] = [];
    for (const [id, request] of this.requests) {
      const expires = toDate(request.metadata?.expires);
      if (expires && expires.getTime() <= nowMs) {
        this.requests.delete(id);
        expired.push(id);
        // Backend TTL expiry surfaces as an ordinary delete event (WIRE §5 "delete / expiry").
        this.listener.delete(id, "expired");
      }
    }
    return expired;
  }

  /**
   * SetAccessRequestState semantics (WIRE §2 RequestStateSetter; dynamic_access.go,
   * types/access_request.go): a DENIED request stays denied (BadParameter for any other state,
   * a repeated denial is a no-op write); an APPROVED one may still be denied. The reason becomes
   * ResolveReason, approving keeps the request until its access expiry; a PUT follows.
   */
  setState(
    id: string,
    state: RequestState,
    input: ResolveInput & { annotations?: LabelValues },
    by: string | undefined,
  ): AccessRequestV3 {
    if (id === "") throw badParameter("missing request id");
    if (state === RequestState.NONE) throw badParameter("missing request state");
    const roleOverride = input.roles ?? [];
    if (roleOverride.length > 0 && state !== RequestState.APPROVED) {
      throw badParameter(`cannot override roles when setting state: ${stateName(state)}`);
    }
    const current = this.requests.get(id);
    if (!current?.spec) throw notFound(`cannot set state of access request "${id}" (not found)`);
    if (current.spec.state === RequestState.DENIED && state !== RequestState.DENIED) {
      throw badParameter(`cannot set request-state "${stateName(state)}" (already denied)`);
    }
    const request = clone(AccessRequestV3Schema, current);
    const spec = request.spec as NonNullable<AccessRequestV3["spec"]>;
    spec.state = state;
    spec.resolveReason = input.reason ?? "";
    spec.resolveAnnotations = input.annotations ?? emptyLabelValues();
    for (const role of roleOverride) {
      if (!spec.roles.includes(role)) {
        throw badParameter(
          `role "${role}" not in original request, overrides must be a subset of original role list`,
        );
      }
    }
    if (roleOverride.length > 0) spec.roles = sortedUnique(roleOverride);
    if (state === RequestState.APPROVED && request.metadata) request.metadata.expires = spec.expires;
    this.replace(this.shape.stripUnknownFields(request));
    this.audit.push({
      event: "access_request.update",
      id,
      by,
      state: stateName(state),
      ...(input.delegator ? { delegator: input.delegator } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
      at: this.now(),
    });
    return request;
  }
}
