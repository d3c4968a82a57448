/**
 * The three ways to reach Teleport's auth API from `[teleport] addr` (TELEPORT-WIRE.md §7), each
 * opened over a TCP socket to that address:
 *
 * - `direct`: mutual TLS with the auth server, ALPN `h2`.
 * - `tls-routing` (Teleport 8+): the proxy's web port; the ALPN list starts with
 *   `teleport-auth@<hex(cluster)>.teleport.cluster.local`, which the proxy's ALPN router forwards
 *   untouched to an auth server, so the handshake is the same end-to-end mutual TLS as `direct`
 *   (Teleport `api/client/client.go` ConfigureALPN, `api/utils` EncodeClusterName).
 * - `upgrade` (proxy behind an L7 load balancer, Teleport 15.1+): TLS to the proxy's web
 *   certificate, a WebSocket upgrade of `GET /webapi/connectionupgrade` with sub-protocol
 *   `alpn-ping`, and the `tls-routing` handshake inside the binary frames (Teleport
 *   `api/client/alpn_conn_upgrade.go`, `alpn_websocket.go`; RFD 0123).
 */
import { X509Certificate } from "node:crypto";
import { isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { createWebSocketStream, WebSocket } from "ws";
import { AppError } from "../errors.js";
import type { ProxyChoice } from "../lib/proxy-env.js";
import { CERT_NOT_NOW_CODES, CERT_WRONG_NAME_CODE, UNTRUSTED_CERT_CODES } from "../lib/tls-verify-codes.js";
import { nameValues, parseX509Name } from "../lib/x509-name.js";

export type RouteKind = "direct" | "tls-routing" | "upgrade";

/** SNI and name the auth server certificate always carries (TELEPORT-WIRE.md §7). */
export const TELEPORT_SERVER_NAME = "teleport.cluster.local";
/** ALPN prefix of the proxy's auth route (Teleport `constants.ALPNSNIAuthProtocol`). */
export const AUTH_ALPN_PREFIX = "teleport-auth@";
/** Path of the connection upgrade (Teleport `constants.WebAPIConnUpgrade`). */
export const UPGRADE_PATH = "/webapi/connectionupgrade";
/**
 * WebSocket sub-protocol asked for: `alpn-ping` makes the proxy send WebSocket pings, which keep
 * the tunnel alive through load balancers with short idle timeouts (Teleport's own auth client
 * asks for ping too: `WithALPNConnUpgradePing(true)`).
 */
export const UPGRADE_PROTOCOL = "alpn-ping";
/** Subject attribute holding the cluster name in Teleport identity certificates. */
const OID_TELEPORT_CLUSTER = "1.3.9999.1.7";
/** Longest a TLS handshake or the upgrade may take before the attempt counts as failed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface RouteIdentity {
  cert: string;
  key: string;
  cas: string;
}

export interface RouteParams {
  host: string;
  port: number;
  identity: RouteIdentity;
  /** The cluster that issued the identity, for the `teleport-auth@` route. */
  clusterName: string;
  /** Name the auth server's certificate is verified against (default teleport.cluster.local). */
  serverName: string;
  /** PEM CA certificates trusted for the proxy's web certificate on top of Node's public list. */
  proxyCa?: string;
  /** The forward proxy (HTTPS_PROXY) connections to host:port tunnel through. */
  forwardProxy?: ProxyChoice;
  timeoutMs?: number;
}

/** Why an attempt failed, as far as the client can tell. */
export type FailureReason =
  /** Nothing answers: refused, no route, DNS, timeout. */
  | "unreachable"
  /** Something answers, but not with TLS (wrong port). */
  | "not-tls"
  /** TLS, but the certificate does not verify against what we trust. */
  | "untrusted-cert"
  /** The server accepts none of the ALPN protocols offered. */
  | "no-alpn"
  /** The connection was closed during the handshake (a proxy refusing the route does that). */
  | "closed"
  /** The server refused our client certificate. */
  | "client-cert-refused"
  /** The proxy answered the upgrade with an HTTP status other than 101. */
  | "upgrade-refused"
  | "other";

/** `<hex(cluster)>.teleport.cluster.local` (Teleport `api/utils.EncodeClusterName`). */
export function encodeClusterName(clusterName: string): string {
  return `${Buffer.from(clusterName, "utf8").toString("hex")}.${TELEPORT_SERVER_NAME}`;
}

export function authAlpn(clusterName: string): string {
  return `${AUTH_ALPN_PREFIX}${encodeClusterName(clusterName)}`;
}

/**
 * The cluster that issued a Teleport identity certificate: the subject attribute 1.3.9999.1.7,
 * else the issuing User CA's subject O (`O=<cluster>, CN=<cluster>`, TELEPORT-WIRE.md §7).
 */
export function clusterNameOf(certPem: string): string {
  const cert = new X509Certificate(certPem);
  return (
    nameValues(parseX509Name(cert.subject), OID_TELEPORT_CLUSTER)[0] ??
    nameValues(parseX509Name(cert.issuer), "O")[0] ??
    ""
  );
}

/** Runs the route `kind` over `socket`; resolves with the TLS socket to the auth server. */
export async function openRoute(
  kind: RouteKind,
  socket: Socket,
  params: RouteParams,
): Promise<tls.TLSSocket> {
  switch (kind) {
    case "direct":
      return authTls(socket, params, ["h2"]);
    case "tls-routing":
      return authTls(socket, params, [authAlpn(params.clusterName), "h2"]);
    case "upgrade":
      return authTls(await upgradeTunnel(socket, params), params, [authAlpn(params.clusterName), "h2"]);
  }
}

/** Mutual TLS with the auth server, verified against the cluster's host CA. */
function authTls(socket: Duplex, params: RouteParams, alpn: string[]): Promise<tls.TLSSocket> {
  return handshake(
    tls.connect({
      socket,
      ca: params.identity.cas,
      cert: params.identity.cert,
      key: params.identity.key,
      servername: params.serverName,
      ALPNProtocols: alpn,
    }),
    params,
    "auth server",
  );
}

/** TLS to the proxy's web certificate, trusted through Node's public CAs and `proxyCa`. */
export function webTlsOptions(params: RouteParams): tls.ConnectionOptions {
  return {
    host: params.host,
    ...(isIP(params.host) === 0 ? { servername: params.host } : {}),
    ...(params.proxyCa ? { ca: [...tls.rootCertificates, params.proxyCa] } : {}),
    ALPNProtocols: ["http/1.1"],
  };
}

function handshake(socket: tls.TLSSocket, params: RouteParams, peer: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(routeFailure("unreachable", `no TLS handshake with the ${peer} within ${timeout(params)} ms`));
    }, timeout(params));
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(routeFailure(failureReason(error), `TLS with the ${peer}: ${tlsText(error)}`, error));
    };
    socket.once("error", onError);
  });
}

/** The WebSocket connection upgrade: resolves with a stream carrying raw bytes to the proxy's ALPN router. */
function upgradeTunnel(socket: Socket, params: RouteParams): Promise<Duplex> {
  const host = isIP(params.host) === 6 ? `[${params.host}]` : params.host;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://${host}:${params.port}${UPGRADE_PATH}`, [UPGRADE_PROTOCOL], {
      createConnection: () => tls.connect({ socket, ...webTlsOptions(params) }),
      handshakeTimeout: timeout(params),
      perMessageDeflate: false,
      followRedirects: false,
      // Teleport's client masks with a zero key (alpn_websocket.go) because some proxy versions
      // read frames without unmasking; the payload is TLS ciphertext, so masking protects nothing.
      generateMask: (mask) => mask.fill(0),
    });
    ws.once("open", () => {
      ws.removeAllListeners("error");
      ws.on("error", () => {}); // the stream reports errors from here on
      resolve(createWebSocketStream(ws));
    });
    ws.once("unexpected-response", (_request, response) => {
      ws.terminate();
      reject(
        routeFailure(
          "upgrade-refused",
          `the proxy answered the connection upgrade (GET ${UPGRADE_PATH}) with HTTP ${response.statusCode}`,
          undefined,
          { status: response.statusCode ?? 0 },
        ),
      );
    });
    ws.once("error", (error) => {
      reject(routeFailure(failureReason(error), `connection upgrade: ${error.message}`, error));
    });
  });
}

function timeout(params: RouteParams): number {
  return params.timeoutMs ?? HANDSHAKE_TIMEOUT_MS;
}

export function routeFailure(
  reason: FailureReason,
  message: string,
  cause?: unknown,
  details: Record<string, string | number> = {},
): AppError {
  return new AppError("TELEPORT", message, {
    cause,
    details: { reason, ...details },
    retryable: reason === "unreachable" || reason === "closed",
  });
}

export function reasonOf(error: unknown): FailureReason {
  if (error instanceof AppError && typeof error.details["reason"] === "string")
    return error.details["reason"] as FailureReason;
  return failureReason(error);
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
]);
const NOT_TLS = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
  "ERR_SSL_HTTP_REQUEST",
  "ERR_SSL_UNKNOWN_PROTOCOL",
  "ERR_SSL_RECORD_LAYER_FAILURE",
]);
const CLIENT_CERT_REFUSED = new Set([
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
]);

/** OpenSSL's reason without its error-stack dump ("…:SSL routines:ssl3_get_record:wrong version number:…"). */
export function tlsText(error: Error): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1]?.trim() ?? error.message.trim();
}

/** Sorts a socket or TLS error by what it tells about the peer. */
export function failureReason(error: unknown): FailureReason {
  const code = (error as { code?: unknown } | undefined)?.code;
  const text = error instanceof Error ? error.message : String(error);
  if (typeof code === "string") {
    if (UNREACHABLE.has(code)) return "unreachable";
    if (NOT_TLS.has(code)) return "not-tls";
    if (UNTRUSTED_CERT_CODES.has(code) || CERT_NOT_NOW_CODES.has(code) || code === CERT_WRONG_NAME_CODE)
      return "untrusted-cert";
    if (CLIENT_CERT_REFUSED.has(code)) return "client-cert-refused";
    if (code === "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL") return "no-alpn";
    if (code === "ECONNRESET" || code === "EPIPE") return "closed";
  }
  if (
    /socket hang up|disconnected before secure TLS|closed before|Opening handshake has timed out/i.test(text)
  )
    return text.includes("timed out") ? "unreachable" : "closed";
  return "other";
}
