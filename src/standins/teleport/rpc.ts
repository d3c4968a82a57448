/**
 * gRPC service wiring: turns a table of handlers (one entry per method of a generated service)
 * into a grpc-js service, and does for every call what Teleport's gRPC server does around its
 * handlers (lib/auth/grpcserver.go): identify the caller from the client certificate, refuse a
 * method this version lacks with grpc-go's `unknown method <M> for service <S>` (WIRE §1), load
 * the caller's roles, and map failures to statuses (WIRE §6). Every call is recorded.
 *
 * Adding a method is one entry in a handler table (see auth-service.ts); adding a service is one
 * more `addService` with its own table.
 */
import type { MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import {
  type MethodDefinition,
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { grpcDefinition } from "../../teleport/grpc-service.js";
import { acceptEncodedLists, type EncodedList } from "./encoding.js";
import { notImplemented, type TeleportStandinError, toStandinError } from "./errors.js";
import { type CallerIdentity, identityFromSubject } from "./permissions.js";
import type { Timers } from "./timers.js";
import type { RpcMethod } from "./versions.js";

export interface CallRecord {
  /** Go method name, e.g. `GetAccessRequests`. */
  method: RpcMethod;
  /** Teleport user of the client certificate; undefined for a caller without one (Nop identity). */
  caller: string | undefined;
  at: Date;
  /** gRPC status the call ended with; undefined while it runs (a watch stream, a delayed call). */
  code?: status;
  details?: string;
}

/** Every call received, in arrival order; `onFinish` hears of each as it ends. */
export class CallLog {
  readonly records: CallRecord[] = [];

  constructor(
    private readonly now: () => Date,
    private readonly onFinish: (record: CallRecord) => void,
  ) {}

  start(method: RpcMethod, caller: CallerIdentity | undefined): CallRecord {
    const record: CallRecord = { method, caller: caller?.user, at: this.now() };
    this.records.push(record);
    return record;
  }

  finish(record: CallRecord, code: status, details?: string): void {
    if (record.code !== undefined) return;
    record.code = code;
    if (details !== undefined) record.details = details;
    this.onFinish(record);
  }
}

type Caller = CallerIdentity | undefined;

/** A unary method: the answer, or an EncodedList of its one repeated field (encoding.ts). */
export interface UnaryHandler<Req, Res> {
  unary: (request: Req, caller: Caller) => Res | EncodedList;
}

/** A server-streaming method: writes to the call and ends it (or leaves it open, like a watch). */
export interface StreamHandler<Req, Res> {
  stream: (call: ServerWritableStream<Req, Res>, caller: Caller, record: CallRecord) => void;
}

/** One handler per method of a generated service, keyed by its generated (camelCase) name. */
export type ServiceHandlers<M extends GenServiceMethods> = {
  [K in keyof M]: M[K]["methodKind"] extends "unary"
    ? UnaryHandler<MessageShape<M[K]["input"]>, MessageShape<M[K]["output"]>>
    : M[K]["methodKind"] extends "server_streaming"
      ? StreamHandler<MessageShape<M[K]["input"]>, MessageShape<M[K]["output"]>>
      : never;
};

/** What every call of every service shares. */
export interface RpcHost {
  calls: CallLog;
  timers: Timers;
  /** Delay before a unary answer, read at each call (the stand-in's `delayMs`). */
  delayMs: () => number;
  /** Checks made after the method exists and before its handler runs (the caller's roles load). */
  authorize: (method: RpcMethod, caller: Caller) => void;
}

export interface ServiceBinding<M extends GenServiceMethods> {
  service: GenService<M>;
  handlers: Partial<ServiceHandlers<M>>;
  /** Whether this server version has the method (Go name); the others answer UNIMPLEMENTED. */
  has: (method: string) => boolean;
}

/** Ends a server stream with a status, the way grpc-js expects it (an `error` event on the call). */
export function endStream(call: ServerWritableStream<unknown, unknown>, error: TeleportStandinError): void {
  call.emit("error", { code: error.code, details: error.details });
}

/** Registers a service's handlers on `server`; methods without a handler are left to grpc-js. */
export function addService<M extends GenServiceMethods>(
  server: Server,
  binding: ServiceBinding<M>,
  host: RpcHost,
): void {
  const { service, handlers } = binding;
  const definition = grpcDefinition(service) as Record<string, MethodDefinition<unknown, unknown>>;
  const implementation: UntypedServiceImplementation = {};
  const serviceExists = service.methods.some((method) => binding.has(method.name));
  for (const method of service.methods) {
    const handler = handlers[method.localName as keyof M] as
      | UnaryHandler<unknown, unknown>
      | StreamHandler<unknown, unknown>
      | undefined;
    const methodDefinition = definition[method.localName];
    if (!handler || !methodDefinition) continue;
    acceptEncodedLists(methodDefinition);
    const name = method.name as RpcMethod;
    const admit = (caller: Caller) => {
      // WIRE §1: a method the version lacks answers UNIMPLEMENTED, as grpc-go does; a service
      // it lacks altogether answers grpc-go's "unknown service".
      if (!serviceExists) throw notImplemented(`unknown service ${service.typeName}`);
      if (!binding.has(name)) throw notImplemented(`unknown method ${name} for service ${service.typeName}`);
      host.authorize(name, caller);
    };
    implementation[method.localName] =
      "unary" in handler ? unaryCall(name, admit, handler, host) : streamCall(name, admit, handler, host);
  }
  server.addService(definition as unknown as ServiceDefinition, implementation);
}

function identify(call: Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">): Caller {
  return identityFromSubject(call.getAuthContext()?.sslPeerCertificate?.subject);
}

function unaryCall(
  method: RpcMethod,
  admit: (caller: Caller) => void,
  handler: UnaryHandler<unknown, unknown>,
  host: RpcHost,
) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const caller = identify(call);
    const record = host.calls.start(method, caller);
    const answer = () => {
      try {
        admit(caller);
        const response = handler.unary(call.request, caller);
        host.calls.finish(record, status.OK);
        callback(null, response);
      } catch (error) {
        const failure = toStandinError(error);
        host.calls.finish(record, failure.code, failure.details);
        callback({ code: failure.code, details: failure.details });
      }
    };
    const delayMs = host.delayMs();
    if (delayMs > 0) void host.timers.sleep(delayMs).then(() => (host.timers.stopped ? undefined : answer()));
    else answer();
  };
}

function streamCall(
  method: RpcMethod,
  admit: (caller: Caller) => void,
  handler: StreamHandler<unknown, unknown>,
  host: RpcHost,
) {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const caller = identify(call);
    const record = host.calls.start(method, caller);
    try {
      admit(caller);
      handler.stream(call, caller, record);
    } catch (error) {
      const failure = toStandinError(error);
      host.calls.finish(record, failure.code, failure.details);
      endStream(call, failure);
    }
  };
}
