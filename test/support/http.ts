/**
 * Raw HTTP(S) requests for tests: POSTs to the callback server as an attacker could send them,
 * GETs to the health listener as a probe or scraper does.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Sends one request (self-signed certificates accepted) and reads the whole answer. */
function exchange(url: string, options: https.RequestOptions, body?: string): Promise<RawReply> {
  const target = new URL(url);
  const transport = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      { rejectUnauthorized: false, timeout: 10_000, ...options },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", reject);
    request.end(body);
  });
}

/** POSTs `body` to `url`. */
export function postRaw(
  url: string,
  body: string,
  contentType = "application/json",
  headers: http.OutgoingHttpHeaders = {},
): Promise<RawReply> {
  return exchange(
    url,
    {
      method: "POST",
      headers: { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), ...headers },
    },
    body,
  );
}

/** GETs `url`. */
export function getRaw(url: string): Promise<RawReply> {
  return exchange(url, { method: "GET" });
}
