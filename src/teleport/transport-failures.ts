/**
 * Connection failures that waiting will not heal, told apart from those it may (the auth server
 * restarting, the network down). gRPC reports all of them as UNAVAILABLE with the TLS library's
 * text ("No connection established. Last error: …ssl3_get_record:wrong version number…"); the
 * operator needs what it means and what to change instead. At start such a failure ends the
 * daemon with the fix; while running it is retried (it may be a mid-rotation blip) but reported
 * for what it is.
 */

export type TransportProblem =
  /** `addr` answers, but not with TLS: an HTTP port. */
  | "not_tls"
  /** `addr` speaks TLS but not gRPC (no h2 protocol): some other HTTPS server. */
  | "not_grpc"
  /** The server's certificate does not chain to root_cas: another cluster's CA, or another server. */
  | "server_untrusted"
  /** The server's certificate is not for the auth server's name. */
  | "wrong_server_name"
  /** The server refused the plugin's certificate during the handshake. */
  | "client_refused";

export interface TransportFailure {
  problem: TransportProblem;
  /** What happened, for the operator, without the TLS library's text. */
  message: string;
  fix: string;
}

const EXPORT_TLS = "tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h";
/** addr names an auth server or the proxy's HTTPS port (README, "Where `addr` points"). */
const ADDR_FIX =
  "Set [teleport] addr to the auth server (host:3025) or to the Teleport proxy's HTTPS address (host:443)";

/** Patterns of OpenSSL and Node TLS messages, most specific first. */
const PATTERNS: ReadonlyArray<{ test: RegExp; problem: TransportProblem }> = [
  { test: /wrong version number|packet length too long|http request|unknown protocol/i, problem: "not_tls" },
  { test: /no application protocol|alert number 120/i, problem: "not_grpc" },
  { test: /Hostname\/IP does not match|altnames|ERR_TLS_CERT_ALTNAME/i, problem: "wrong_server_name" },
  {
    test: /unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate|certificate verify failed|certificate signature failure|CERT_(UNTRUSTED|REJECTED|SIGNATURE)/i,
    problem: "server_untrusted",
  },
  {
    test: /alert (bad certificate|certificate (expired|revoked|unknown)|unknown ca|access denied)|alert number (42|44|45|46|48|49)\b/i,
    problem: "client_refused",
  },
];

/** The lasting problem in a connection failure's text, if it is one. */
export function transportFailure(text: string, addr: string): TransportFailure | undefined {
  const problem = PATTERNS.find((pattern) => pattern.test.test(text))?.problem;
  switch (problem) {
    case "not_tls":
      return {
        problem,
        message: `${addr} does not speak TLS (is it an HTTP port?)`,
        fix: ADDR_FIX,
      };
    case "not_grpc":
      return {
        problem,
        message: `${addr} is an HTTPS server that does not speak Teleport's gRPC`,
        fix: ADDR_FIX,
      };
    case "wrong_server_name":
      return {
        problem,
        message: `the server at ${addr} presented a certificate that is not a Teleport auth server's`,
        fix: ADDR_FIX,
      };
    case "server_untrusted":
      return {
        problem,
        message: `the server at ${addr} presented a certificate that root_cas does not trust (certificate verification failed)`,
        fix:
          "Point root_cas (or the identity file) at this cluster's CA: export it again with " +
          `\`${EXPORT_TLS}\`, and check that [teleport] addr is this cluster's auth server or proxy`,
      };
    case "client_refused":
      return {
        problem,
        message: `the server at ${addr} refused the plugin's certificate`,
        fix: `Export a new identity from this cluster with \`${EXPORT_TLS}\` and send SIGHUP`,
      };
    default:
      return undefined;
  }
}
