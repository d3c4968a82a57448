/**
 * WatchEvents (WIRE §5): kinds and filters are checked before anything is sent (an error ends
 * the stream before INIT), then INIT, then a PUT with the whole resource for every write and a
 * DELETE with only a ResourceHeader for every delete or expiry. Filters apply to PUT only; DELETE
 * is always delivered (api/types/events.go WatchKind.Matches: "we don't have a good model for
 * filtering non-put events"). Permissions as in lib/auth/auth_with_roles.go NewWatcher.
 *
 * Each watchable kind is one entry of `watchableKinds`: how its WatchKind is checked and which
 * PUTs it wants. The stand-in watches `access_request`, and `access_monitoring_rule` from 16 on
 * (any other kind is refused, as Teleport's local watcher refuses kinds it has no parser for).
 */
import { create } from "@bufbuild/protobuf";
import { type ServerWritableStream, status } from "@grpc/grpc-js";
import {
  type Event,
  EventSchema,
  Operation,
  type Watch,
} from "../../teleport/gen/teleport/authservice_pb.js";
import { ResourceHeaderSchema, type WatchKind } from "../../teleport/gen/teleport/types_pb.js";
import type { AuthHandlers, StandinContext } from "./context.js";
import { accessDenied, badParameter, TeleportStandinError } from "./errors.js";
import type { CallerIdentity } from "./permissions.js";
import { matchesFilter, parseWatchFilter } from "./request-filters.js";
import { type CallLog, type CallRecord, endStream } from "./rpc.js";
import { DEFAULT_NAMESPACE, KIND_ACCESS_MONITORING_RULE, KIND_ACCESS_REQUEST } from "./wire.js";

/** A checked WatchKind: the resources of `kind` (named `name`, or all for "") and which PUTs it wants. */
interface WatchedKind {
  kind: string;
  name: string;
  wants: (resource: Event["resource"]) => boolean;
}

/** Checks one WatchKind of a kind the stand-in can watch (throws as Teleport would refuse it). */
type WatchableKind = (kind: WatchKind, caller: CallerIdentity | undefined) => WatchedKind;

interface ActiveWatch {
  call: ServerWritableStream<Watch, Event>;
  kinds: WatchedKind[];
  record: CallRecord;
}

/** The open watch streams and the fan-out of store changes to them. */
export class WatchHub {
  private readonly watches = new Set<ActiveWatch>();

  constructor(private readonly calls: CallLog) {}

  get count(): number {
    return this.watches.size;
  }

  /** Starts delivering to a stream whose kinds were checked: INIT first. */
  open(call: ServerWritableStream<Watch, Event>, kinds: WatchedKind[], record: CallRecord): void {
    const watch: ActiveWatch = { call, kinds, record };
    this.watches.add(watch);
    const forget = () => {
      if (this.watches.delete(watch)) this.calls.finish(record, status.CANCELLED);
    };
    call.on("cancelled", forget);
    call.on("close", forget);
    // 18.0 also attaches a WatchStatus (field 43) to INIT; our wire subset does not carry it.
    call.write(create(EventSchema, { type: Operation.INIT }));
  }

  /** PUT of a resource (as the version sends it) to the watches that want it. */
  put(kind: string, name: string, resource: Event["resource"]): void {
    const event = create(EventSchema, { type: Operation.PUT, resource });
    for (const watch of this.watches) {
      if (watch.kinds.some((watched) => this.covers(watched, kind, name) && watched.wants(resource))) {
        watch.call.write(event);
      }
    }
  }

  /** DELETE carries only a ResourceHeader: kind, version, Metadata.Name (WIRE §5). */
  delete(kind: string, version: string, name: string): void {
    const event = create(EventSchema, {
      type: Operation.DELETE,
      resource: {
        case: "resourceHeader",
        value: create(ResourceHeaderSchema, {
          kind,
          version,
          metadata: { name, namespace: DEFAULT_NAMESPACE },
        }),
      },
    });
    for (const watch of this.watches) {
      if (watch.kinds.some((watched) => this.covers(watched, kind, name))) watch.call.write(event);
    }
  }

  /** Ends every open stream with UNAVAILABLE, as when the auth server's watcher closes. */
  drop(details: string): number {
    const count = this.watches.size;
    for (const watch of [...this.watches]) {
      this.calls.finish(watch.record, status.UNAVAILABLE, details);
      this.watches.delete(watch);
      endStream(watch.call, new TeleportStandinError(status.UNAVAILABLE, details));
    }
    return count;
  }

  /** Records every stream as ended UNAVAILABLE and forgets it: its connection is being closed. */
  forgetAll(details: string): void {
    for (const watch of this.watches) this.calls.finish(watch.record, status.UNAVAILABLE, details);
    this.watches.clear();
  }

  private covers(watched: WatchedKind, kind: string, name: string): boolean {
    return watched.kind === kind && (watched.name === "" || watched.name === name);
  }
}

function watchableKinds(
  context: Pick<StandinContext, "permissions" | "version" | "profile">,
): Map<string, WatchableKind> {
  const { permissions, version } = context;
  const accessRequest: WatchableKind = (kind, caller) => {
    const filter = parseWatchFilter(kind.filter, version);
    // Watching only one's own requests needs no rule (auth_with_roles.go NewWatcher).
    if (filter.user === "" || filter.user !== caller?.user) {
      permissions.requireVerbs(caller, KIND_ACCESS_REQUEST, "read");
    }
    return {
      kind: KIND_ACCESS_REQUEST,
      name: kind.name,
      wants: (resource) => resource.case === "accessRequest" && matchesFilter(resource.value, filter),
    };
  };
  // Other kinds need `read` (auth_with_roles.go NewWatcher's default case); no filters.
  const monitoringRule: WatchableKind = (kind, caller) => {
    permissions.requireVerbs(caller, KIND_ACCESS_MONITORING_RULE, "read");
    return {
      kind: KIND_ACCESS_MONITORING_RULE,
      name: kind.name,
      wants: (resource) => resource.case === "accessMonitoringRule",
    };
  };
  const kinds = new Map([[KIND_ACCESS_REQUEST, accessRequest]]);
  if (context.profile.accessMonitoringRules) kinds.set(KIND_ACCESS_MONITORING_RULE, monitoringRule);
  return kinds;
}

export function watchMethods(
  context: Pick<StandinContext, "permissions" | "version" | "watches" | "profile">,
): AuthHandlers<"watchEvents"> {
  const { permissions, watches } = context;
  const watchable = watchableKinds(context);
  return {
    watchEvents: {
      stream: (call, caller, record) => {
        const kinds = call.request.kinds;
        if (kinds.length === 0) throw accessDenied("can't setup global watch");
        const watched: WatchedKind[] = [];
        for (const kind of kinds) {
          const check = watchable.get(kind.kind);
          if (!check) {
            // Roles here only grant on access_request, so a non-admin fails the read check like in
            // Teleport; for Admin the stand-in simply does not support other kinds.
            if (!permissions.isAdmin(caller)) permissions.requireVerbs(caller, kind.kind, "read");
            throw badParameter(
              `the Teleport stand-in does not support watching ${JSON.stringify(kind.kind)}`,
            );
          }
          watched.push(check(kind, caller));
        }
        watches.open(call, watched, record);
      },
    },
  };
}
