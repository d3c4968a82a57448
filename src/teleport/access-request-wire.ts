/**
 * Access requests read straight from the wire (AccessRequestV3, TELEPORT-WIRE.md §4) into the
 * daemon's own AccessRequest, for the watch events and listings that carry them. The reflective
 * decoder built every message of the tree with all its fields and the daemon then copied what it
 * reads: a tenth of a millisecond and a trail of garbage per request, most of a catch-up over
 * 1,000 requests. Only the fields convert.ts reads are taken; the rest is skipped. The result is
 * the same as fromBinary + accessRequestFromProto (test/teleport/access-request-wire.test.ts
 * compares them over messages with every field set).
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  type AccessRequest,
  type AccessReview,
  emptyAccessRequest,
  type RequestedResource,
} from "../core/access-request.js";
import { stateFromProto, timestampToDate, type WatchEvent } from "./convert.js";
import { Operation } from "./gen/teleport/authservice_pb.js";
import { AccessRequestKind } from "./gen/teleport/types_pb.js";

/** Calls `field` for each field up to `end`. */
export function fields(reader: BinaryReader, end: number, field: (no: number, type: WireType) => void): void {
  while (reader.pos < end) {
    const [no, type] = reader.tag();
    field(no, type);
  }
}

/** Calls `field` for each field of the embedded message at the reader's position. */
export function message(reader: BinaryReader, field: (no: number, type: WireType) => void): void {
  fields(reader, reader.uint32() + reader.pos, field);
}

/** A `map<string, V>` entry (key 1, value 2) at the reader's position. */
export function mapEntry<V>(reader: BinaryReader, value: () => V, empty: V): [string, V] {
  let key = "";
  let found = empty;
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) key = reader.string();
    else if (no === 2 && type === WireType.LengthDelimited) found = value();
    else reader.skip(type, no);
  });
  return [key, found];
}

/** LabelValues.values: label → StringValues.values. */
function labelValues(reader: BinaryReader): Record<string, string[]> {
  const labels: Record<string, string[]> = {};
  message(reader, (no, type) => {
    if (no !== 1 || type !== WireType.LengthDelimited) return void reader.skip(type, no);
    const [key, values] = mapEntry(reader, () => stringValues(reader), []);
    labels[key] = values;
  });
  return labels;
}

function stringValues(reader: BinaryReader): string[] {
  const values: string[] = [];
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) values.push(reader.string());
    else reader.skip(type, no);
  });
  return values;
}

function timestamp(reader: BinaryReader): Date | undefined {
  let seconds = 0n;
  let nanos = 0;
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.Varint) seconds = BigInt(reader.int64());
    else if (no === 2 && type === WireType.Varint) nanos = reader.int32();
    else reader.skip(type, no);
  });
  return timestampToDate({ seconds, nanos });
}

function review(reader: BinaryReader): AccessReview {
  const found: AccessReview = {
    author: "",
    roles: [],
    proposedState: "NONE",
    reason: "",
    created: undefined,
  };
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) found.author = reader.string();
    else if (no === 2 && type === WireType.LengthDelimited) found.roles.push(reader.string());
    else if (no === 3 && type === WireType.Varint) found.proposedState = stateFromProto(reader.int32());
    else if (no === 4 && type === WireType.LengthDelimited) found.reason = reader.string();
    else if (no === 5 && type === WireType.LengthDelimited) found.created = timestamp(reader);
    else reader.skip(type, no);
  });
  return found;
}

function resourceId(reader: BinaryReader): RequestedResource {
  const found: RequestedResource = { cluster: "", kind: "", name: "", subResource: "" };
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) found.cluster = reader.string();
    else if (no === 2 && type === WireType.LengthDelimited) found.kind = reader.string();
    else if (no === 3 && type === WireType.LengthDelimited) found.name = reader.string();
    else if (no === 4 && type === WireType.LengthDelimited) found.subResource = reader.string();
    else reader.skip(type, no);
  });
  return found;
}

/** AccessReviewThreshold.approve. */
function thresholdApprove(reader: BinaryReader): number {
  let approve = 0;
  message(reader, (no, type) => {
    if (no === 3 && type === WireType.Varint) approve = reader.uint32();
    else reader.skip(type, no);
  });
  return approve;
}

function spec(reader: BinaryReader, request: AccessRequest): void {
  message(reader, (no, type) => {
    if (type === WireType.LengthDelimited) {
      if (no === 1) request.user = reader.string();
      else if (no === 2) request.roles.push(reader.string());
      else if (no === 4) request.created = timestamp(reader);
      else if (no === 5) request.accessExpires = timestamp(reader);
      else if (no === 6) request.requestReason = reader.string();
      else if (no === 7) request.resolveReason = reader.string();
      else if (no === 9) request.systemAnnotations = labelValues(reader);
      else if (no === 10)
        request.thresholdApprovals = Math.max(request.thresholdApprovals, thresholdApprove(reader));
      else if (no === 12) request.reviews.push(review(reader));
      else if (no === 13) request.suggestedReviewers.push(reader.string());
      else if (no === 14) request.resources.push(resourceId(reader));
      else reader.skip(type, no);
    } else if (type === WireType.Varint) {
      if (no === 3) request.state = stateFromProto(reader.int32());
      else if (no === 16) request.dryRun = reader.bool();
      else if (no === 24) request.longTerm = reader.int32() === AccessRequestKind.LONG_TERM;
      else reader.skip(type, no);
    } else reader.skip(type, no);
  });
}

/** Metadata: the request's name (its id) and when the request itself expires. */
function metadata(reader: BinaryReader, request: { id: string; requestExpires?: Date | undefined }): void {
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) request.id = reader.string();
    else if (no === 6 && type === WireType.LengthDelimited) request.requestExpires = timestamp(reader);
    else reader.skip(type, no);
  });
}

/** The AccessRequestV3 whose fields run from the reader's position to `end`. */
function accessRequest(reader: BinaryReader, end: number): AccessRequest {
  const request = emptyAccessRequest();
  fields(reader, end, (no, type) => {
    if (no === 4 && type === WireType.LengthDelimited) metadata(reader, request);
    else if (no === 5 && type === WireType.LengthDelimited) spec(reader, request);
    else reader.skip(type, no);
  });
  return request;
}

/** A stream message of GetAccessRequestsV2: one AccessRequestV3. */
export function decodeAccessRequest(bytes: Uint8Array): AccessRequest {
  const reader = new BinaryReader(bytes);
  return accessRequest(reader, reader.len);
}

/** GetAccessRequests' reply (AccessRequests): its access_requests (field 1). */
export function decodeAccessRequests(bytes: Uint8Array): AccessRequest[] {
  const reader = new BinaryReader(bytes);
  const found: AccessRequest[] = [];
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (no === 1 && type === WireType.LengthDelimited)
      found.push(accessRequest(reader, reader.uint32() + reader.pos));
    else reader.skip(type, no);
  }
  return found;
}

/** A WatchEvents message (Event) as convert.ts watchEventFromProto reads it. */
export function decodeWatchEvent(bytes: Uint8Array): WatchEvent | undefined {
  const reader = new BinaryReader(bytes);
  let operation: number = Operation.INIT;
  let put: AccessRequest | undefined;
  let deleted: { id: string } | undefined;
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (no === 1 && type === WireType.Varint) operation = reader.int32();
    else if (no === 14 && type === WireType.LengthDelimited) {
      put = accessRequest(reader, reader.uint32() + reader.pos);
      deleted = undefined;
    } else if (no === 2 && type === WireType.LengthDelimited) {
      // ResourceHeader: its metadata (field 4) names the request.
      const header = { id: "" };
      message(reader, (field, wire) => {
        if (field === 4 && wire === WireType.LengthDelimited) metadata(reader, header);
        else reader.skip(wire, field);
      });
      deleted = header;
      put = undefined;
    } else reader.skip(type, no);
  }
  if (operation === Operation.INIT) return { type: "init" };
  if (operation === Operation.PUT) return put ? { type: "put", request: put } : undefined;
  if (operation === Operation.DELETE) return deleted ? { type: "delete", id: deleted.id } : undefined;
  return undefined;
}
