/**
 * Faults of something standing between the daemon and Mattermost — a reverse proxy, a web
 * application firewall, a single-sign-on gateway — that answers 2xx with what Mattermost never
 * sends: an HTML page, a body cut short, JSON of another shape. Either the proxy answers on its
 * own (the request never reaches Mattermost), or Mattermost handles the request (a post is
 * created) and the proxy replaces or cuts the answer on its way back, keeping the framing valid.
 */
import type * as http from "node:http";

export type ProxyFault =
  /** The proxy's own answer, e.g. `200 text/html` login page or `201 {"status":"OK"}`. */
  | { proxyAnswer: { status: number; contentType: string; body: string }; forwarded?: boolean }
  /** Mattermost's answer, status and headers kept, body cut after `keepBytes` (default: half). */
  | { truncated: true; keepBytes?: number };

export function isProxyFault(spec: object): spec is ProxyFault {
  return "proxyAnswer" in spec || "truncated" in spec;
}

/**
 * Applies `fault` to the exchange. Returns true when the proxy answered on its own (Mattermost
 * must not handle the request); otherwise the answer Mattermost writes is rewritten on the way.
 */
export function applyProxyFault(fault: ProxyFault, res: http.ServerResponse): boolean {
  if ("proxyAnswer" in fault && !fault.forwarded) {
    const { status, contentType, body } = fault.proxyAnswer;
    res
      .writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) })
      .end(body);
    return true;
  }
  rewriteAnswer(res, (status, headers, body) => {
    if ("proxyAnswer" in fault) {
      const answer = fault.proxyAnswer;
      return { status: answer.status, contentType: answer.contentType, body: Buffer.from(answer.body) };
    }
    const keep = fault.keepBytes ?? Math.floor(body.length / 2);
    return { status, contentType: String(headers["content-type"] ?? ""), body: body.subarray(0, keep) };
  });
  return false;
}

type Rewrite = (
  status: number,
  headers: http.OutgoingHttpHeaders,
  body: Buffer,
) => { status: number; contentType: string; body: Buffer };

/** Holds back the answer written to `res` and sends `rewrite`'s instead, with a matching length. */
function rewriteAnswer(res: http.ServerResponse, rewrite: Rewrite): void {
  const writeHead = res.writeHead.bind(res);
  const end = res.end.bind(res);
  let status = 200;
  res.writeHead = ((code: number, ...rest: unknown[]) => {
    status = code;
    const headers = rest.find((arg) => typeof arg === "object" && arg !== null);
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value as string);
    return res;
  }) as typeof res.writeHead;
  res.end = ((chunk?: unknown) => {
    const body =
      typeof chunk === "string" || chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.alloc(0);
    const answer = rewrite(status, res.getHeaders(), body);
    res.setHeader("Content-Type", answer.contentType);
    res.setHeader("Content-Length", answer.body.length);
    writeHead(answer.status);
    return end(answer.body);
  }) as typeof res.end;
}
