/**
 * Reads the server name (SNI) and the ALPN protocols out of a TLS ClientHello without ending
 * the TLS handshake, as Teleport's ALPN router does before it picks a handler (the bytes are
 * then replayed to that handler: RFC 8446 §4.1.2 ClientHello, RFC 6066 §3 server_name,
 * RFC 7301 §3.1 application_layer_protocol_negotiation).
 */

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SERVER_NAME = 0;
const EXTENSION_ALPN = 16;
const RECORD_HEADER_BYTES = 5;
/** A ClientHello larger than this is refused (post-quantum key shares make ~2 KB ones). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export interface ClientHello {
  serverName: string;
  alpn: string[];
}

export type ClientHelloResult =
  | { kind: "hello"; hello: ClientHello }
  /** Not enough bytes yet: read more and try again. */
  | { kind: "incomplete" }
  /** Not a TLS ClientHello (plain HTTP, SSH, garbage). */
  | { kind: "not-tls"; reason: string };

/** Parses the ClientHello at the start of `data` (one or more TLS records). */
export function parseClientHello(data: Buffer): ClientHelloResult {
  const handshake = handshakeBytes(data);
  if (handshake.kind !== "bytes") return handshake;
  try {
    return { kind: "hello", hello: readClientHello(handshake.bytes) };
  } catch (error) {
    return { kind: "not-tls", reason: (error as Error).message };
  }
}

/** The first handshake message, joined from as many handshake records as it spans. */
function handshakeBytes(
  data: Buffer,
): { kind: "bytes"; bytes: Buffer } | { kind: "incomplete" } | { kind: "not-tls"; reason: string } {
  const fragments: Buffer[] = [];
  let joined = 0;
  let offset = 0;
  for (;;) {
    if (data.length < offset + RECORD_HEADER_BYTES) return { kind: "incomplete" };
    if (data[offset] !== RECORD_HANDSHAKE) return { kind: "not-tls", reason: "not a TLS handshake record" };
    const length = data.readUInt16BE(offset + 3);
    const end = offset + RECORD_HEADER_BYTES + length;
    if (end > MAX_CLIENT_HELLO_BYTES) return { kind: "not-tls", reason: "ClientHello too large" };
    if (data.length < end) return { kind: "incomplete" };
    fragments.push(data.subarray(offset + RECORD_HEADER_BYTES, end));
    joined += length;
    offset = end;
    if (joined >= 4) {
      const message = Buffer.concat(fragments);
      if (message[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: "not-tls", reason: "not a ClientHello" };
      const total = 4 + message.readUIntBE(1, 3);
      if (message.length >= total) return { kind: "bytes", bytes: message.subarray(4, total) };
    }
  }
}

class Reader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  skip(bytes: number): void {
    this.take(bytes);
  }

  uint(bytes: 1 | 2): number {
    const value = this.data.readUIntBE(this.need(bytes), bytes);
    this.offset += bytes;
    return value;
  }

  /** A vector with a `lengthBytes`-byte length prefix. */
  vector(lengthBytes: 1 | 2): Buffer {
    return this.take(this.uint(lengthBytes));
  }

  get done(): boolean {
    return this.offset >= this.data.length;
  }

  private take(bytes: number): Buffer {
    const start = this.need(bytes);
    this.offset += bytes;
    return this.data.subarray(start, start + bytes);
  }

  private need(bytes: number): number {
    if (this.offset + bytes > this.data.length) throw new Error("truncated ClientHello");
    return this.offset;
  }
}

function readClientHello(body: Buffer): ClientHello {
  const reader = new Reader(body);
  reader.skip(2 + 32); // legacy_version, random
  reader.vector(1); // legacy_session_id
  reader.vector(2); // cipher_suites
  reader.vector(1); // legacy_compression_methods
  const hello: ClientHello = { serverName: "", alpn: [] };
  if (reader.done) return hello;
  const extensions = new Reader(reader.vector(2));
  while (!extensions.done) {
    const type = extensions.uint(2);
    const data = extensions.vector(2);
    if (type === EXTENSION_SERVER_NAME) hello.serverName = readServerName(data);
    else if (type === EXTENSION_ALPN) hello.alpn = readAlpn(data);
  }
  return hello;
}

function readServerName(data: Buffer): string {
  const names = new Reader(new Reader(data).vector(2));
  while (!names.done) {
    const type = names.uint(1);
    const name = names.vector(2);
    if (type === 0) return name.toString("latin1");
  }
  return "";
}

function readAlpn(data: Buffer): string[] {
  const list = new Reader(new Reader(data).vector(2));
  const protocols: string[] = [];
  while (!list.done) protocols.push(list.vector(1).toString("latin1"));
  return protocols;
}
