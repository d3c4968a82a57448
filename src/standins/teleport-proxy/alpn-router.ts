/**
 * The proxy's ALPN router for the one route this stand-in models: a ClientHello whose first ALPN
 * protocol is `teleport-auth@<hex(cluster)>.teleport.cluster.local` is forwarded byte for byte to
 * the auth server, so the TLS handshake stays end-to-end between client and auth server
 * (Teleport `lib/service/service.go`: `MatchByALPNPrefix(ProtocolAuth)` with `ForwardTLS: true`).
 * The cluster name is decoded from that first protocol; a cluster the proxy does not know gets
 * its connection closed without a TLS alert (`lib/srv/alpnproxy/auth/auth_proxy.go`:
 * `getClusterName`, `dialAuthServer` → NotFound, `conn.Close()`).
 */
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type ClientHello, parseClientHello } from "./client-hello.js";

/** ALPN prefix of the auth route (Teleport `alpncommon.ProtocolAuth`). */
export const AUTH_ALPN_PREFIX = "teleport-auth@";
const CLUSTER_SUFFIX = ".teleport.cluster.local";
/** How long the router waits for a whole ClientHello (Teleport reads it under a handshake deadline). */
export const CLIENT_HELLO_TIMEOUT_MS = 5_000;

export interface Peeked {
  hello: ClientHello;
  /** Every byte read so far, to replay to whoever handles the connection. */
  bytes: Buffer;
}

/** Reads from `stream` until a whole ClientHello is in; undefined when it is not TLS, ends or times out. */
export function peekClientHello(
  stream: Duplex,
  timeoutMs = CLIENT_HELLO_TIMEOUT_MS,
): Promise<Peeked | undefined> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    const finish = (result: Peeked | undefined) => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onEnd);
      stream.off("close", onEnd);
      stream.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const parsed = parseClientHello(bytes);
      if (parsed.kind === "hello") finish({ hello: parsed.hello, bytes });
      else if (parsed.kind === "not-tls") finish(undefined);
    };
    const onEnd = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onEnd);
    stream.once("close", onEnd);
    stream.resume();
  });
}

/**
 * The cluster a `teleport-auth@` route asks for; undefined when the first ALPN protocol is not
 * that route. "" when the encoding is not `<hex>.teleport.cluster.local` (Teleport refuses it).
 */
export function authRouteCluster(hello: ClientHello): string | undefined {
  const first = hello.alpn[0];
  if (first === undefined || !first.startsWith(AUTH_ALPN_PREFIX)) return undefined;
  const encoded = first.slice(AUTH_ALPN_PREFIX.length);
  if (!encoded.endsWith(CLUSTER_SUFFIX)) return "";
  const hex = encoded.slice(0, -CLUSTER_SUFFIX.length);
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return "";
  return Buffer.from(hex, "hex").toString("utf8");
}

/** Pipes `client` (with the bytes already read) to a new connection to `port` on loopback. */
export function forward(client: Duplex, replay: Buffer, port: number): Socket {
  const upstream = connect({ host: "127.0.0.1", port, noDelay: true });
  upstream.write(replay);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.once("error", close);
  client.once("close", close);
  upstream.once("error", close);
  upstream.once("close", close);
  client.resume();
  return upstream;
}
