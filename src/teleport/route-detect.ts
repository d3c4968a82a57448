/**
 * Finds which route (route.ts) reaches the auth API at `[teleport] addr`, the way Teleport's own
 * client decides: the address alone says whether it is an auth server or a proxy, and whether a
 * proxy needs the connection upgrade. Each candidate is tried with a throwaway connection (a
 * TLS handshake, closed at once); the first that verifies wins and is kept until a connection on
 * it fails. When none works, the error says what the answers showed and how to fix it. The
 * `direct` attempt may run on the TCP socket of the connection being made instead
 * ({@link detectRouteOver}): on an auth server its handshake then is that connection's, not a
 * second one.
 *
 * Order: `direct` (a certificate from the cluster's host CA means an auth server); otherwise
 * `GET /webapi/ping` tells whether a Teleport proxy answers and for which cluster (a proxy
 * refuses routes to clusters it does not know); then `tls-routing`; then, when Teleport's test
 * says so (`api/client/alpn_conn_upgrade.go` IsALPNConnUpgradeRequired: a handshake offering only
 * `teleport-reversetunnel` negotiates no protocol, so something in front strips ALPN), `upgrade`.
 * `[teleport] connection_upgrade` forces the upgrade on or off, as Teleport's
 * TELEPORT_TLS_ROUTING_CONN_UPGRADE does, for set-ups the test cannot see.
 */
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { AppError } from "../errors.js";
import { openTcp } from "./forward-proxy.js";
import {
  type FailureReason,
  openRoute,
  type RouteKind,
  type RouteParams,
  reasonOf,
  webTlsOptions,
} from "./route.js";
import { transportFailure } from "./transport-failures.js";
import { type ProxyPing, webPing } from "./web-ping.js";

/** Deadline of one detection attempt (Teleport's upgrade test uses 5 s too). */
export const PROBE_TIMEOUT_MS = 5_000;
/** ALPN protocol of Teleport's upgrade test (`constants.ALPNSNIProtocolReverseTunnel`). */
const REVERSE_TUNNEL_ALPN = "teleport-reversetunnel";

export interface RouteFailureNote {
  kind: RouteKind;
  problem: string;
}

export interface RouteReport {
  kind: RouteKind;
  /** One sentence: what `addr` is and how the daemon reaches the auth API through it. */
  summary: string;
  /** The routes tried before, and why each failed. */
  failed: RouteFailureNote[];
}

export interface DetectOptions {
  /** true: always upgrade; false: never; undefined: detect. */
  upgrade?: boolean;
}

const LABEL: Record<RouteKind, string> = {
  direct: "direct to an auth server",
  "tls-routing": "TLS routing through the proxy",
  upgrade: "connection upgrade through the proxy",
};

export async function detectRoute(params: RouteParams, options: DetectOptions = {}): Promise<RouteReport> {
  return (await detectRouteOver(undefined, params, options)).route;
}

/**
 * {@link detectRoute}, trying `direct` on `socket` (a TCP socket to addr, opened for a real
 * connection) instead of a throwaway one. When `direct` works, `secure` is its TLS socket,
 * handshaken as openRoute("direct") does: the connection, ready. Otherwise `socket` is destroyed
 * (a failed handshake leaves nothing to use), or left as it was when `direct` is not tried.
 */
export async function detectRouteOver(
  socket: Socket | undefined,
  params: RouteParams,
  options: DetectOptions = {},
): Promise<{ route: RouteReport; secure?: tls.TLSSocket }> {
  const addr = `${params.host}:${params.port}`;
  const failed: RouteFailureNote[] = [];
  const noted = (kind: RouteKind, error: AppError | undefined): AppError | undefined => {
    if (error) failed.push({ kind, problem: problemText(kind, error) });
    return error;
  };
  const attempt = async (kind: RouteKind) => noted(kind, await probe(kind, params));
  const report = (kind: RouteKind, summary: string): { route: RouteReport } => ({
    route: { kind, summary, failed: [...failed] },
  });

  let direct: AppError | undefined;
  if (options.upgrade !== true) {
    const tried = socket ? await probeOver(socket, params) : await probe("direct", params);
    if (!(tried instanceof AppError)) {
      const found = report("direct", `${addr} is a Teleport auth server`);
      return tried ? { ...found, secure: tried } : found;
    }
    direct = noted("direct", tried);
  }
  if (direct) {
    const reason = reasonOf(direct);
    if (reason === "unreachable") throw unreachable(addr, direct);
    if (reason === "not-tls" || reason === "client-cert-refused") throw lasting(addr, direct);
  }

  const ping = await webPing(params, PROBE_TIMEOUT_MS);
  if (!ping) throw notTeleport(addr, direct, failed);
  const proxy = `${addr} is the Teleport proxy of cluster ${ping.clusterName || "?"}`;

  if (options.upgrade !== true) {
    const routing = await attempt("tls-routing");
    if (!routing)
      return report(
        "tls-routing",
        `${proxy}; the auth server of cluster ${params.clusterName} is reached with TLS routing`,
      );
    const reason = reasonOf(routing);
    // A proxy closes a route to a cluster it does not know (nor reaches as a leaf).
    if (reason === "closed") throw routeRefused(addr, ping, params, routing);
    if (reason === "client-cert-refused") throw lasting(addr, routing);
    if (options.upgrade === false || !(await upgradeRequired(params))) throw noTlsRouting(addr, ping, failed);
  }
  const upgrade = await attempt("upgrade");
  if (!upgrade) {
    return report(
      "upgrade",
      `${proxy}, behind something that ends TLS (an L7 load balancer); the auth server of cluster ${params.clusterName} is reached through the connection upgrade`,
    );
  }
  throw upgradeFailed(addr, ping, params, upgrade, failed);
}

/** What a failed attempt showed, in words about the peer. */
function problemText(kind: RouteKind, error: AppError): string {
  const raw = error.cause instanceof Error ? error.cause.message : error.message;
  switch (reasonOf(error)) {
    case "untrusted-cert":
      return kind === "upgrade"
        ? `the proxy's web certificate is not trusted (${raw})`
        : `the certificate presented is not from the cluster's host CA (${raw})`;
    case "no-alpn":
      return `the server accepts none of the ALPN protocols offered (${raw})`;
    default:
      return error.message;
  }
}

/** One throwaway attempt: connect, run the route, close. Undefined when it worked. */
async function probe(kind: RouteKind, params: RouteParams): Promise<AppError | undefined> {
  let socket: Socket | undefined;
  try {
    socket = await tcpConnect(params);
    const secure = await openRoute(kind, socket, { ...params, timeoutMs: PROBE_TIMEOUT_MS });
    secure.destroy();
    return undefined;
  } catch (error) {
    return AppError.from(error, "TELEPORT");
  } finally {
    socket?.destroy();
  }
}

/**
 * The `direct` attempt on a socket already open: on success the TLS socket is kept (it is the
 * connection `socket` was opened for); on failure `socket` is destroyed.
 */
async function probeOver(socket: Socket, params: RouteParams): Promise<tls.TLSSocket | AppError> {
  try {
    return await openRoute("direct", socket, { ...params, timeoutMs: PROBE_TIMEOUT_MS });
  } catch (error) {
    socket.destroy();
    return AppError.from(error, "TELEPORT");
  }
}

function tcpConnect(params: RouteParams): Promise<Socket> {
  return openTcp(params, PROBE_TIMEOUT_MS);
}

/** Teleport's test: does a handshake offering only `teleport-reversetunnel` negotiate nothing? */
async function upgradeRequired(params: RouteParams): Promise<boolean> {
  let socket: Socket | undefined;
  try {
    socket = await tcpConnect(params);
    const raw = socket;
    return await new Promise<boolean>((resolve) => {
      // Only the negotiated protocol is read here; the certificate is checked by the upgrade itself.
      const secure = tls.connect({
        ...webTlsOptions(params),
        socket: raw,
        rejectUnauthorized: false,
        ALPNProtocols: [REVERSE_TUNNEL_ALPN],
      });
      const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
      const finish = (required: boolean) => {
        clearTimeout(timer);
        secure.destroy();
        resolve(required);
      };
      secure.once("secureConnect", () => finish(!secure.alpnProtocol));
      secure.once("error", (error) => finish(reasonOf(error) === "no-alpn"));
    });
  } catch {
    return false;
  } finally {
    socket?.destroy();
  }
}

function routeError(
  message: string,
  fix: string,
  cause: unknown,
  retryable = false,
  reason?: FailureReason,
): AppError {
  return new AppError("TELEPORT", message, { fix, cause, retryable, details: reason ? { reason } : {} });
}

const ADDR_FIX =
  "Set [teleport] addr to the auth server (host:3025) or to the proxy's HTTPS address (host:443, or host:3080 without TLS routing)";

function unreachable(addr: string, cause: AppError): AppError {
  return routeError(
    `cannot reach ${addr}: ${cause.message}`,
    `Check [teleport] addr and that Teleport runs and this host reaches it`,
    cause,
    true,
    "unreachable",
  );
}

/**
 * A failure waiting will not heal (wrong port, another cluster's CA, a refused certificate), in
 * the words teleport/transport-failures.ts uses for it.
 */
function lasting(addr: string, cause: AppError): AppError {
  const raw = cause.cause instanceof Error ? cause.cause.message : cause.message;
  const known = transportFailure(raw, addr);
  return known
    ? routeError(known.message, known.fix, cause, false, reasonOf(cause))
    : routeError(`${addr}: ${cause.message}`, ADDR_FIX, cause, false, reasonOf(cause));
}

/** The certificate at addr is not the cluster's, and no Teleport proxy answers there either. */
function notTeleport(addr: string, direct: AppError | undefined, failed: RouteFailureNote[]): AppError {
  const base = direct ? lasting(addr, direct) : undefined;
  const what =
    base?.message ?? `${addr} is not a Teleport auth server (${failed[0]?.problem ?? "no answer"})`;
  return routeError(
    `${what}, and it is not a Teleport proxy either (GET /webapi/ping did not answer as one)`,
    base?.fix ?? ADDR_FIX,
    direct,
  );
}

/** The proxy closed the route: for another cluster than its own that is the usual reason. */
function routeRefused(addr: string, ping: ProxyPing, params: RouteParams, cause: AppError): AppError {
  if (ping.clusterName && ping.clusterName !== params.clusterName) {
    return routeError(
      `${addr} is the Teleport proxy of cluster ${ping.clusterName}, but the identity was issued by cluster ` +
        `${params.clusterName}, and the proxy closed the connection when asked to route to it (${cause.message})`,
      `Export the plugin's identity from cluster ${ping.clusterName} (\`tctl auth sign\` there), or set [teleport] addr to the proxy of cluster ${params.clusterName}`,
      cause,
    );
  }
  return routeError(
    `the proxy at ${addr} closed the connection when asked for the auth server of cluster ${params.clusterName} (${cause.message})`,
    "Check that the proxy reaches its auth server; the daemon keeps trying",
    cause,
    true,
    "closed",
  );
}

function noTlsRouting(addr: string, ping: ProxyPing, failed: RouteFailureNote[]): AppError {
  const off = ping.tlsRoutingEnabled === false ? " (its /webapi/ping says tls_routing_enabled: false)" : "";
  return routeError(
    `the proxy at ${addr} does not route to the auth server${off}: ${failed.at(-1)?.problem ?? ""}`,
    "Enable TLS routing on the proxy (proxy_listener_mode: multiplex, Teleport 8+), or set [teleport] addr to the auth server (host:3025)" +
      (ping.tlsRoutingEnabled === false
        ? ""
        : "; if a load balancer ends TLS in front of the proxy, set [teleport] connection_upgrade = true"),
    undefined,
  );
}

function upgradeFailed(
  addr: string,
  ping: ProxyPing,
  params: RouteParams,
  cause: AppError,
  failed: RouteFailureNote[],
): AppError {
  const reason = reasonOf(cause);
  if (reason === "untrusted-cert") {
    return routeError(
      `the web certificate of the proxy at ${addr} is not trusted here (${cause.message}); the connection upgrade needs it`,
      params.proxyCa
        ? "Set [teleport] proxy_ca_file to the CA that issued the proxy's certificate (now it names another)"
        : "If the proxy's certificate comes from a private CA, set [teleport] proxy_ca_file to that CA's certificate (PEM) or name it in NODE_EXTRA_CA_CERTS; otherwise give the proxy a certificate from a public CA",
      cause,
      false,
      reason,
    );
  }
  if (reason === "upgrade-refused") {
    if (ping.tlsRoutingEnabled === false) return noTlsRouting(addr, ping, failed);
    return routeError(
      `the proxy at ${addr} has no WebSocket connection upgrade (${cause.message}; Teleport ${ping.serverVersion || "?"}, it needs 15.1 or newer)`,
      "Upgrade the Teleport proxy, or set [teleport] addr to an address that does not end TLS in front of the proxy, or to the auth server (host:3025)",
      cause,
    );
  }
  if (reason === "closed") return routeRefused(addr, ping, params, cause);
  if (reason === "client-cert-refused") return lasting(addr, cause);
  return routeError(
    `cannot reach the auth server through the proxy at ${addr}: ${failed.map((note) => `${LABEL[note.kind]}: ${note.problem}`).join("; ")}`,
    ADDR_FIX,
    cause,
    reason === "unreachable",
    reason,
  );
}

/** "tls-routing (direct to an auth server failed: …)" for logs and `check`. */
export function describeRoute(report: RouteReport): string {
  const others = report.failed.map((note) => `${LABEL[note.kind]}: ${note.problem}`);
  return others.length === 0 ? report.summary : `${report.summary} (tried first: ${others.join("; ")})`;
}
