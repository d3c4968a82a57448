/**
 * Encoding caches for list answers (`AccessRequests`, `PluginDataSeq`: one repeated message
 * field, number 1; WIRE §2–3). The bytes are put together from per-item encodings kept while an
 * item is unchanged — exactly what toBinary writes — instead of encoding thousands of unchanged
 * items on every listing (protobuf-es took ~40 ms per 1,000 requests, far more than an auth
 * server takes to answer).
 */
import type { MethodDefinition } from "@grpc/grpc-js";

/** A list answer made of already encoded items; the service's serializer sends its bytes as they are. */
export class EncodedList {
  readonly bytes: Buffer;

  constructor(items: readonly Uint8Array[]) {
    const parts: Uint8Array[] = [];
    for (const item of items) parts.push(Uint8Array.of(0x0a), varint(item.length), item);
    this.bytes = Buffer.concat(parts);
  }
}

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

/** Lets a method answer with an EncodedList as well as with a message. */
export function acceptEncodedLists(method: MethodDefinition<unknown, unknown>): void {
  const serialize = method.responseSerialize;
  method.responseSerialize = (message) =>
    message instanceof EncodedList ? message.bytes : serialize(message);
}

/** Encodings keyed by the item object itself: for items that are replaced, never changed. */
export class EncodingsByObject<T extends object> {
  private readonly encoded = new WeakMap<T, Uint8Array>();

  get(item: T, encode: (item: T) => Uint8Array): Uint8Array {
    let bytes = this.encoded.get(item);
    if (!bytes) {
      bytes = encode(item);
      this.encoded.set(item, bytes);
    }
    return bytes;
  }
}

/** Encodings keyed by id, valid while the item's resource id is the one noted. */
export class EncodingsByRevision {
  private readonly encoded = new Map<string, { resourceId: bigint; bytes: Uint8Array }>();

  get(id: string, resourceId: bigint, encode: () => Uint8Array): Uint8Array {
    let entry = this.encoded.get(id);
    if (entry?.resourceId !== resourceId) {
      entry = { resourceId, bytes: encode() };
      this.encoded.set(id, entry);
    }
    return entry.bytes;
  }
}
