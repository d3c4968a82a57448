/**
 * Plugin data: a flat string map per plugin, attached to an access request (WIRE §3 "Filters and
 * plugin data", "Expect semantics"; api/types/plugin_data.go, UpdatePluginData in
 * lib/services/local/dynamic_access.go). Writes are compare-and-swap; the data outlives its
 * request until the access expiry + 1 h so a plugin can still read it on DELETE. Reading needs
 * list+read and writing update, on `access_request` or on `access_plugin_data`
 * (lib/auth/auth_with_roles.go).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { EmptySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type PluginDataFilter, PluginDataV3Schema } from "../../teleport/gen/teleport/types_pb.js";
import type { AuthHandlers, StandinContext } from "./context.js";
import { EncodedList, EncodingsByRevision } from "./encoding.js";
import { badParameter, compareFailed, notFound } from "./errors.js";
import type { RequestStore } from "./requests.js";
import {
  DEFAULT_NAMESPACE,
  HOUR_MS,
  KIND_ACCESS_PLUGIN_DATA,
  KIND_ACCESS_REQUEST,
  KIND_PLUGIN_DATA,
  type ResourceCounter,
  revisionFields,
  toDate,
  V3,
} from "./wire.js";

/** Plugin data outlives the request's access expiry by an hour (WIRE §3 "Expect semantics"). */
const PLUGIN_DATA_GRACE_MS = HOUR_MS;

interface StoredPluginData {
  /** Plugin name → key → value. */
  entries: Map<string, Map<string, string>>;
  /** Fixed at the first write: access expiry + 1 h (WIRE §3). */
  expires: Date;
  resourceId: bigint;
}

export class PluginDataStore {
  private readonly store = new Map<string, StoredPluginData>();
  /** Encoded plugin data per request id, valid while its resource id is the one noted. */
  private readonly encoded = new EncodingsByRevision();

  constructor(
    private readonly modern: boolean,
    private readonly now: () => Date,
    private readonly resourceIds: ResourceCounter,
    private readonly requests: RequestStore,
    private readonly onWrite: (id: string, plugin: string, data: Record<string, string> | undefined) => void,
  ) {}

  /** A plugin's stored data for a request (still readable after the request is gone, WIRE §3). */
  read(id: string, plugin: string): Record<string, string> | undefined {
    const entry = this.store.get(id)?.entries.get(plugin);
    return entry && Object.fromEntries(entry);
  }

  /** GetPluginData's answer: every resource or one, every plugin or one; unknown resources are left out. */
  list(filter: PluginDataFilter): EncodedList {
    const ids = filter.resource === "" ? [...this.store.keys()].sort() : [filter.resource];
    const pluginData: Uint8Array[] = [];
    for (const id of ids) {
      const data = this.store.get(id);
      if (!data) continue; // an unknown resource is an empty answer, not NOT_FOUND
      if (filter.plugin !== "" && !data.entries.has(filter.plugin)) continue;
      pluginData.push(
        this.encoded.get(id, data.resourceId, () => toBinary(PluginDataV3Schema, this.message(id, data))),
      );
    }
    return new EncodedList(pluginData);
  }

  /**
   * Teleport's compare-and-swap (WIRE §3 "Expect semantics"): without an entry every expected
   * value must be ""; otherwise each Expect[k] must equal Data[k] ("" = absent); a mismatch is
   * CompareFailed `expectations not met for field "<k>"`. Set "" deletes a key and an emptied
   * entry is removed. The first write needs the request to exist and fixes the data's expiry at
   * the request's access expiry + 1 h; later writes do not look at the request.
   */
  write(resource: string, plugin: string, set: Record<string, string>, expect: Record<string, string>): void {
    let data = this.store.get(resource);
    const creating = data === undefined;
    if (!data) {
      const request = this.requests.get(resource);
      if (!request) throw notFound(`access request "${resource}" not found`);
      const accessExpires = toDate(request.spec?.expires) ?? this.now();
      data = {
        entries: new Map(),
        expires: new Date(accessExpires.getTime() + PLUGIN_DATA_GRACE_MS),
        resourceId: 0n,
      };
    }
    const entry = data.entries.get(plugin);
    // Sorted so the field named in the error does not depend on map order.
    for (const key of Object.keys(expect).sort()) {
      const expected = expect[key] ?? "";
      const actual = entry?.get(key) ?? "";
      if (entry === undefined ? expected !== "" : actual !== expected) {
        throw compareFailed(`expectations not met for field "${key}"`);
      }
    }
    const updated = new Map(entry ?? []);
    for (const [key, value] of Object.entries(set)) {
      if (value === "") updated.delete(key);
      else updated.set(key, value);
    }
    if (updated.size === 0) data.entries.delete(plugin);
    else data.entries.set(plugin, updated);
    data.resourceId = this.resourceIds.next();
    if (creating) this.store.set(resource, data);
    this.onWrite(resource, plugin, this.read(resource, plugin));
  }

  /** Deletes the data whose expiry has passed. */
  expire(nowMs: number): void {
    for (const [id, data] of this.store) {
      if (data.expires.getTime() <= nowMs) this.store.delete(id);
    }
  }

  private message(id: string, data: StoredPluginData) {
    const entries: Record<string, { data: Record<string, string> }> = {};
    for (const [plugin, values] of data.entries) entries[plugin] = { data: Object.fromEntries(values) };
    return create(PluginDataV3Schema, {
      kind: KIND_PLUGIN_DATA,
      subKind: KIND_ACCESS_REQUEST,
      version: V3,
      metadata: {
        name: id,
        namespace: DEFAULT_NAMESPACE,
        expires: timestampFromDate(data.expires),
        ...revisionFields(this.modern, data.resourceId),
      },
      spec: { entries },
    });
  }
}

/** The stand-in keeps plugin data for access requests only. */
function requireAccessRequestKind(kind: string): void {
  if (kind !== KIND_ACCESS_REQUEST) throw badParameter(`unsupported resource kind "${kind}"`);
}

export function pluginDataMethods(
  context: Pick<StandinContext, "permissions" | "pluginData">,
): AuthHandlers<"getPluginData" | "updatePluginData"> {
  const { permissions, pluginData } = context;
  return {
    getPluginData: {
      unary: (filter, caller) => {
        requireAccessRequestKind(filter.kind);
        // list/read on access_request also grant them on its plugin data (auth_with_roles.go).
        for (const verb of ["list", "read"]) {
          if (!permissions.hasVerb(caller, KIND_ACCESS_REQUEST, verb)) {
            permissions.requireVerbs(caller, KIND_ACCESS_PLUGIN_DATA, verb);
          }
        }
        return pluginData.list(filter);
      },
    },
    updatePluginData: {
      unary: (params, caller) => {
        requireAccessRequestKind(params.kind);
        if (!permissions.hasVerb(caller, KIND_ACCESS_REQUEST, "update")) {
          permissions.requireVerbs(caller, KIND_ACCESS_PLUGIN_DATA, "update");
        }
        pluginData.write(params.resource, params.plugin, params.set, params.expect);
        return create(EmptySchema);
      },
    },
  };
}
