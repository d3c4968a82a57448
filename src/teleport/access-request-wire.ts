/**
 * Access requests read straight from the wire (AccessRequestV3, TELEPORT-WIRE.md §4) into the
 * daemon's own AccessRequest, for the watch events and listings that carry them. The reflective
 * decoder built every message of the tree with all its fields and the daemon then copied what it
 * reads: a tenth of a millisecond and a trail of garbage per request, most of a catch-up over
 * 1,000 requests. Only the fields convert.ts reads are taken; the rest is skipped. The result is
 * the same as fromBinary + accessRequestFromProto (test/teleport/access-request-wire.test.ts
 * compares them over messages with every field set).
 */
import { BinaryReader, getTextEncoding, WireType } from "@bufbuild/protobuf/wire";
import {
  type AccessRequest,
  type AccessReview,
  emptyAccessRequest,
  type RequestedResource,
} from "../core/access-request.js";
import { stateFromProto, timestampToDate, type WatchEvent } from "./convert.js";
import { Operation } from "./gen/teleport/authservice_pb.js";
import { AccessRequestKind } from "./gen/teleport/types_pb.js";

/** Strings longer than this are decoded by TextDecoder straight away. */
const MAX_SCANNED_STRING_BYTES = 256;

/**
 * A BinaryReader whose strings skip the subarray and TextDecoder call each costs when they are
 * ASCII, as nearly all of Teleport's are (ids, names, roles, reasons): a listing of 1,000
 * requests reads ~20,000 strings, and those calls and their garbage were most of its decoding.
 * Any other string is decoded by TextDecoder as BinaryReader does, so the text is the same.
 */
export class WireReader extends BinaryReader {
  private readonly bytesAsBuffer: Buffer & { latin1Slice(start: number, end: number): string };
  private readonly decodeText = getTextEncoding().decodeUtf8;

  constructor(bytes: Uint8Array) {
    super(bytes);
    // latin1Slice: what toString("latin1", start, end) calls, without its argument checks.
    this.bytesAsBuffer = (Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(
          bytes.buffer,
          bytes.byteOffset,
          bytes.byteLength,
        )) as unknown as WireReader["bytesAsBuffer"];
  }

  override string(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    this.assertBounds();
    const bytes = this.bytesAsBuffer;
    if (length <= MAX_SCANNED_STRING_BYTES) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (bytes[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return bytes.latin1Slice(start, end);
    }
    return this.decodeText(bytes.subarray(start, end));
  }

  /** skip() without the subarray of what it skipped, which nothing here reads. */
  pass(type: WireType, no: number): void {
    switch (type) {
      case WireType.Varint:
        while (this.buf[this.pos++]! & 0x80) {}
        break;
      case WireType.Bit64:
        this.pos += 8;
        break;
      case WireType.Bit32:
        this.pos += 4;
        break;
      case WireType.LengthDelimited: {
        const length = this.uint32(); // read before pos: `pos += uint32()` adds to the pos before it
        this.pos += length;
        break;
      }
      default:
        this.skip(type, no);
        return;
    }
    this.assertBounds();
  }
}

/** Calls `field` for each field up to `end`. */
export function fields(reader: WireReader, end: number, field: (no: number, type: WireType) => void): void {
  while (reader.pos < end) {
    const [no, type] = reader.tag();
    field(no, type);
  }
}

/** Calls `field` for each field of the embedded message at the reader's position. */
export function message(reader: WireReader, field: (no: number, type: WireType) => void): void {
  fields(reader, reader.uint32() + reader.pos, field);
}

/** A `map<string, V>` entry (key 1, value 2) at the reader's position. */
export function mapEntry<V>(reader: WireReader, value: () => V, empty: V): [string, V] {
  let key = "";
  let found = empty;
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) key = reader.string();
    else if (no === 2 && type === WireType.LengthDelimited) found = value();
    else reader.pass(type, no);
  });
  return [key, found];
}

/** LabelValues.values: label → StringValues.values. */
function labelValues(reader: WireReader): Record<string, string[]> {
  const labels: Record<string, string[]> = {};
  message(reader, (no, type) => {
    if (no !== 1 || type !== WireType.LengthDelimited) return void reader.pass(type, no);
    const [key, values] = mapEntry(reader, () => stringValues(reader), []);
    labels[key] = values;
  });
  return labels;
}

function stringValues(reader: WireReader): string[] {
  const values: string[] = [];
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) values.push(reader.string());
    else reader.pass(type, no);
  });
  return values;
}

function timestamp(reader: WireReader): Date | undefined {
  let seconds = 0n;
  let nanos = 0;
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.Varint) seconds = BigInt(reader.int64());
    else if (no === 2 && type === WireType.Varint) nanos = reader.int32();
    else reader.pass(type, no);
  });
  return timestampToDate({ seconds, nanos });
}

function review(reader: WireReader): AccessReview {
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
    else reader.pass(type, no);
  });
  return found;
}

function resourceId(reader: WireReader): RequestedResource {
  const found: RequestedResource = { cluster: "", kind: "", name: "", subResource: "" };
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) found.cluster = reader.string();
    else if (no === 2 && type === WireType.LengthDelimited) found.kind = reader.string();
    else if (no === 3 && type === WireType.LengthDelimited) found.name = reader.string();
    else if (no === 4 && type === WireType.LengthDelimited) found.subResource = reader.string();
    else reader.pass(type, no);
  });
  return found;
}

/** AccessReviewThreshold.approve. */
function thresholdApprove(reader: WireReader): number {
  let approve = 0;
  message(reader, (no, type) => {
    if (no === 3 && type === WireType.Varint) approve = reader.uint32();
    else reader.pass(type, no);
  });
  return approve;
}

function spec(reader: WireReader, request: AccessRequest): void {
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
      else reader.pass(type, no);
    } else if (type === WireType.Varint) {
      if (no === 3) request.state = stateFromProto(reader.int32());
      else if (no === 16) request.dryRun = reader.bool();
      else if (no === 24) request.longTerm = reader.int32() === AccessRequestKind.LONG_TERM;
      else reader.pass(type, no);
    } else reader.pass(type, no);
  });
}

/** Metadata: the request's name (its id) and when the request itself expires. */
function metadata(reader: WireReader, request: { id: string; requestExpires?: Date | undefined }): void {
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) request.id = reader.string();
    else if (no === 6 && type === WireType.LengthDelimited) request.requestExpires = timestamp(reader);
    else reader.pass(type, no);
  });
}

/** The AccessRequestV3 whose fields run from the reader's position to `end`. */
function accessRequest(reader: WireReader, end: number): AccessRequest {
  const request = emptyAccessRequest();
  fields(reader, end, (no, type) => {
    if (no === 4 && type === WireType.LengthDelimited) metadata(reader, request);
    else if (no === 5 && type === WireType.LengthDelimited) spec(reader, request);
    else reader.pass(type, no);
  });
  return request;
}

/** A stream message of GetAccessRequestsV2: one AccessRequestV3. */
export function decodeAccessRequest(bytes: Uint8Array): AccessRequest {
  const reader = new WireReader(bytes);
  return accessRequest(reader, reader.len);
}

/** GetAccessRequests' reply (AccessRequests): its access_requests (field 1). */
export function decodeAccessRequests(bytes: Uint8Array): AccessRequest[] {
  const reader = new WireReader(bytes);
  const found: AccessRequest[] = [];
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (no === 1 && type === WireType.LengthDelimited)
      found.push(accessRequest(reader, reader.uint32() + reader.pos));
    else reader.pass(type, no);
  }
  return found;
}

/** A WatchEvents message (Event) as convert.ts watchEventFromProto reads it. */
export function decodeWatchEvent(bytes: Uint8Array): WatchEvent | undefined {
  const reader = new WireReader(bytes);
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
        else reader.pass(wire, field);
      });
      deleted = header;
      put = undefined;
    } else reader.pass(type, no);
  }
  if (operation === Operation.INIT) return { type: "init" };
  if (operation === Operation.PUT) return put ? { type: "put", request: put } : undefined;
  if (operation === Operation.DELETE) return deleted ? { type: "delete", id: deleted.id } : undefined;
  return undefined;
}
