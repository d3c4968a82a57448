/**
 * UpdatePluginData's request (`PluginDataUpdateParams`, TELEPORT-WIRE.md §3) encoded by hand, and
 * GetPluginData's reply (`PluginDataSeq`) decoded by hand: listing 1,000 records reflectively
 * built ~10 objects per record, a third of a catch-up's decoding and most of its garbage. The
 * daemon sends it three times per new request, each with the whole record twice (`set` and
 * `expect`, a dozen keys each); the reflective encoder spent most of a call's CPU walking the map
 * entries, forking a writer per entry. The bytes are the same as @bufbuild/protobuf's `toBinary`
 * (fields in number order, map entries in insertion order with key and value always written;
 * test/teleport/plugin-data-wire.test.ts compares them).
 */

import { WireType } from "@bufbuild/protobuf/wire";
import { fields, mapEntry, message, WireReader } from "./access-request-wire.js";

export interface PluginDataUpdate {
  kind: string;
  resource: string;
  plugin: string;
  set: Record<string, string>;
  expect: Record<string, string>;
}

/** Wire type 2 (length-delimited) tags of fields 1–5. */
const TAG = [0, 0x0a, 0x12, 0x1a, 0x22, 0x2a] as const;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buffer[offset++] = value;
  return offset;
}

/** Size of a length-delimited field whose payload is `length` bytes. */
const fieldSize = (length: number) => 1 + varintSize(length) + length;

function entrySize(keyBytes: number, valueBytes: number): number {
  return fieldSize(keyBytes) + fieldSize(valueBytes);
}

export function encodePluginDataUpdate(params: PluginDataUpdate): Buffer {
  const strings: Array<[tag: number, text: string, bytes: number]> = [];
  let size = 0;
  for (const [tag, text] of [
    [TAG[1], params.kind],
    [TAG[2], params.resource],
    [TAG[3], params.plugin],
  ] as const) {
    if (text === "") continue; // proto3: a field at its default value is not written
    const bytes = Buffer.byteLength(text);
    strings.push([tag, text, bytes]);
    size += fieldSize(bytes);
  }
  const entries: Array<[tag: number, key: string, keyBytes: number, value: string, valueBytes: number]> = [];
  for (const [tag, map] of [
    [TAG[4], params.set],
    [TAG[5], params.expect],
  ] as const) {
    for (const key of Object.keys(map)) {
      const value = map[key]!;
      const keyBytes = Buffer.byteLength(key);
      const valueBytes = Buffer.byteLength(value);
      entries.push([tag, key, keyBytes, value, valueBytes]);
      size += fieldSize(entrySize(keyBytes, valueBytes));
    }
  }
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [tag, text, bytes] of strings) {
    buffer[offset++] = tag;
    offset = writeVarint(buffer, offset, bytes);
    offset += buffer.write(text, offset);
  }
  for (const [tag, key, keyBytes, value, valueBytes] of entries) {
    buffer[offset++] = tag;
    offset = writeVarint(buffer, offset, entrySize(keyBytes, valueBytes));
    buffer[offset++] = TAG[1];
    offset = writeVarint(buffer, offset, keyBytes);
    offset += buffer.write(key, offset);
    buffer[offset++] = TAG[2];
    offset = writeVarint(buffer, offset, valueBytes);
    offset += buffer.write(value, offset);
  }
  return buffer;
}

/** PluginDataEntry.data. */
function entryData(reader: WireReader): Record<string, string> {
  const data: Record<string, string> = {};
  message(reader, (no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) {
      const [key, value] = mapEntry(reader, () => reader.string(), "");
      data[key] = value;
    } else reader.pass(type, no);
  });
  return data;
}

/**
 * GetPluginData's reply: per resource (PluginDataV3 metadata.name, "" when absent), the data of
 * `plugin`, for those that have an entry for it, in the order Teleport sent them.
 */
export function decodePluginDataSeq(
  bytes: Uint8Array,
  plugin: string,
): Array<{ resource: string; data: Record<string, string> }> {
  const reader = new WireReader(bytes);
  const found: Array<{ resource: string; data: Record<string, string> }> = [];
  fields(reader, reader.len, (no, type) => {
    if (no !== 1 || type !== WireType.LengthDelimited) return void reader.pass(type, no);
    let resource = "";
    let data: Record<string, string> | undefined;
    message(reader, (field, wire) => {
      if (field === 4 && wire === WireType.LengthDelimited) {
        message(reader, (inner, innerWire) => {
          if (inner === 1 && innerWire === WireType.LengthDelimited) resource = reader.string();
          else reader.pass(innerWire, inner);
        });
      } else if (field === 5 && wire === WireType.LengthDelimited) {
        // PluginDataSpecV3.entries: plugin name → PluginDataEntry.
        message(reader, (inner, innerWire) => {
          if (inner !== 1 || innerWire !== WireType.LengthDelimited)
            return void reader.pass(innerWire, inner);
          const [name, entry] = mapEntry(
            reader,
            () => entryData(reader),
            undefined as Record<string, string> | undefined,
          );
          if (name === plugin) data = entry ?? {};
        });
      } else reader.pass(wire, field);
    });
    if (data) found.push({ resource, data });
  });
  return found;
}
