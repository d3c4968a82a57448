/**
 * Small facts about Teleport's wire values shared by the stand-in's resources: resource kinds and
 * versions (WIRE §3), Go's zero time for nullable=false timestamps (WIRE §4), and where a
 * resource's revision goes (Metadata.ID up to 6.2, Metadata.Revision from 18.0, WIRE §3
 * "Metadata / ResourceHeader").
 */
import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema, timestampDate } from "@bufbuild/protobuf/wkt";
import { type LabelValues, LabelValuesSchema, RequestState } from "../../teleport/gen/teleport/types_pb.js";

export const KIND_ACCESS_REQUEST = "access_request";
export const KIND_PLUGIN_DATA = "plugin_data";
export const KIND_ACCESS_PLUGIN_DATA = "access_plugin_data";
export const KIND_USER = "user";
export const KIND_ACCESS_MONITORING_RULE = "access_monitoring_rule";
export const V3 = "v3";
export const DEFAULT_NAMESPACE = "default";
export const HOUR_MS = 3_600_000;
/** Go's zero time.Time on the wire, for nullable=false timestamps left unset (WIRE §4). */
const GO_ZERO_TIME_SECONDS = -62135596800n;

export function goZeroTime(): Timestamp {
  return create(TimestampSchema, { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 });
}

export function isGoZeroTime(timestamp: Timestamp | undefined): boolean {
  return timestamp === undefined || timestamp.seconds === GO_ZERO_TIME_SECONDS;
}

export function toDate(timestamp: Timestamp | undefined): Date | undefined {
  return isGoZeroTime(timestamp) ? undefined : timestampDate(timestamp as Timestamp);
}

export function stateName(state: RequestState): keyof typeof RequestState {
  return (RequestState[state] ?? String(state)) as keyof typeof RequestState;
}

export function emptyLabelValues(): LabelValues {
  return create(LabelValuesSchema);
}

export function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** The Metadata field a resource's revision goes in: ID (≤6.2) became Revision in 18.0 (WIRE §3 Metadata). */
export function revisionFields(modern: boolean, revision: bigint): { revision: string } | { id: bigint } {
  return modern ? { revision: String(revision) } : { id: revision };
}

/** One counter for requests and plugin data: every write gets a new, higher resource id. */
export class ResourceCounter {
  private last = 0n;

  next(): bigint {
    this.last += 1n;
    return this.last;
  }
}
