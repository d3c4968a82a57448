/**
 * Teleport's keepalive enforcement (4.4+): the auth server's gRPC server is built with grpc-go's
 * `EnforcementPolicy{MinTime: KeepAlivePeriod, PermitWithoutStream: true}` (lib/auth/grpcserver.go
 * NewGRPCServer; KeepAlivePeriod defaults to api/defaults ServerKeepAliveTTL, 60 s, and is not
 * configurable). grpc-go counts a client PING that arrives sooner than MinTime after the previous
 * one as a strike, unless the server sent HEADERS or DATA since that previous ping (its ping ACKs
 * do not count); at the third strike it sends GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and
 * closes the connection (internal/transport/http2_server.go handlePing, maxPingStrikes = 2).
 * 4.2 and 4.3 served gRPC through Go's HTTP/2 handler, which only acknowledges pings.
 */
import type { Http2Server, Http2Session, ServerHttp2Stream } from "node:http2";
import { constants } from "node:http2";

/** Teleport's KeepAlivePeriod, its MinTime between client pings (api/defaults ServerKeepAliveTTL). */
export const TELEPORT_PING_MIN_TIME_MS = 60_000;
/** grpc-go's maxPingStrikes: the strike after this many closes the connection. */
const MAX_PING_STRIKES = 2;
const TOO_MANY_PINGS = Buffer.from("too_many_pings");
/** The server stream's methods that send a frame. */
const SENDING_METHODS = ["respond", "write", "sendTrailers"] as const;

export interface PingPolicyCounters {
  /** Client PING frames received (ACKs excluded). */
  pings: number;
  /** Connections closed with GOAWAY "too_many_pings". */
  goaways: number;
}

/** Counts pings on every session `server` starts from now on, and applies the policy if given a minimum. */
export function enforcePingPolicy(
  server: Http2Server,
  minTimeMs: number | undefined,
  counters: PingPolicyCounters,
): void {
  server.on("session", (session) => watchSession(session, minTimeMs, counters));
}

function watchSession(
  session: Http2Session,
  minTimeMs: number | undefined,
  counters: PingPolicyCounters,
): void {
  let lastPingAt = Number.NEGATIVE_INFINITY;
  let strikes = 0;
  /** The server sent HEADERS or DATA since the last ping (grpc-go's resetPingStrikes). */
  let serverSent = false;
  let lastStreamId = 0;
  session.on("ping", () => counters.pings++);
  if (minTimeMs === undefined) return;
  // Before grpc-js's own listener, which may answer at once (an unknown method, a bad content type).
  session.prependListener("stream", (stream: ServerHttp2Stream) => {
    lastStreamId = Math.max(lastStreamId, stream.id ?? 0);
    // HEADERS (respond, trailers) and DATA (write) are what grpc-go resets its strikes on.
    for (const name of SENDING_METHODS) {
      const send = (stream[name] as (...args: unknown[]) => unknown).bind(stream);
      Object.assign(stream, {
        [name]: (...args: unknown[]) => {
          serverSent = true;
          return send(...args);
        },
      });
    }
  });
  session.on("ping", () => {
    const now = performance.now();
    const previous = lastPingAt;
    lastPingAt = now;
    if (serverSent) {
      serverSent = false;
      strikes = 0;
      return;
    }
    if (now - previous < minTimeMs) strikes++;
    if (strikes > MAX_PING_STRIKES && !session.destroyed) {
      counters.goaways++;
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, lastStreamId, TOO_MANY_PINGS);
      // Let the GOAWAY frame go out before the connection closes, as grpc-go's writer does.
      setImmediate(() => session.destroy());
    }
  });
}
