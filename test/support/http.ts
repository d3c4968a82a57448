/** Raw HTTP(S) POSTs for tests that talk to the callback server directly, as an attacker could. */
import * as http from "node:http";
import * as https from "node:https";

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** POSTs `body` to `url`; the callback server's self-signed certificate is accepted. */
export function postRaw(
  url: string,
  body: string,
  contentType = "application/json",
  headers: http.OutgoingHttpHeaders = {},
): Promise<RawReply> {
  const target = new URL(url);
  const transport = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: "POST",
        rejectUnauthorized: false,
        headers: { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), ...headers },
        timeout: 10_000,
      },
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
