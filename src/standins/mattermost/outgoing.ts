/**
 * Mattermost's "untrusted" outgoing HTTP client, used for button clicks and dialog submissions
 * (MATTERMOST-API.md §4 "What Mattermost POSTs", "Which URLs Mattermost may call", "Timeouts";
 * `server/platform/services/httpservice/`, `DoActionRequest` in
 * `server/channels/app/integration_action.go`): the address filter, Go's header order and user agent,
 * basic auth from `user:password@`, gzip replies, TLS verified against the system roots (plus
 * `outgoingCa`) unless `EnableInsecureOutgoingConnections`, the dial and whole-request timeouts, and
 * a non-200 reply turned into `api.post.do_action.action_integration.app_error` (502/503/429 from
 * 11.10). Plugin routes on this server go through the trusted client with the user's session.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import * as http from "node:http";
import * as https from "node:https";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { gunzipSync } from "node:zlib";
import { AddressFilter } from "./address-filter.js";
import { integrationError } from "./errors.js";
import { OUTGOING_CONNECT_TIMEOUT_MS, OUTGOING_USER_AGENT } from "./limits.js";
import { clone, goJson } from "./model.js";
import type { MattermostStore } from "./store.js";
import type { OutgoingLogEntry } from "./types.js";

export interface OutgoingResult {
  status: number;
  body: Buffer;
}

export class OutgoingClient {
  private readonly filter: AddressFilter;
  /** Requests in flight, destroyed when the stand-in stops. */
  private readonly inFlight = new Set<http.ClientRequest>();

  constructor(private readonly store: MattermostStore) {
    this.filter = new AddressFilter(store.opts.allowedUntrustedInternalConnections);
  }

  /** Aborts every request in flight. */
  abortAll(): void {
    for (const request of this.inFlight) request.destroy(new Error("stand-in stopped"));
    this.inFlight.clear();
  }

  async call(
    kind: OutgoingLogEntry["kind"],
    rawUrl: string,
    payload: Record<string, unknown>,
    sessionToken: string,
  ): Promise<OutgoingResult> {
    const body = goJson(payload);
    const entry: OutgoingLogEntry = {
      kind,
      url: rawUrl,
      headers: {},
      body: clone(payload),
      at: this.store.now(),
    };
    this.store.outgoingLog.push(entry);
    const fail = (detail: string, status = 400): never => {
      entry.error = detail;
      this.store.emit({ type: "integration_request", request: clone(entry) });
      throw integrationError(detail, status);
    };
    let url: URL;
    try {
      url = rawUrl.startsWith("/") ? new URL(rawUrl, this.store.url) : new URL(rawUrl);
    } catch {
      return fail(`err=parse "${rawUrl}": invalid URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return fail(`err=Post "${rawUrl}": unsupported protocol scheme "${url.protocol.replace(/:$/, "")}"`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    // Plugin routes on this server go through the trusted client with the user's session.
    const trusted = ["localhost", "127.0.0.1"].includes(host) && url.pathname.startsWith("/plugins");
    let connectAddress: string | undefined;
    if (!trusted && !this.filter.allowHost(host)) {
      let addresses: string[];
      if (isIP(host)) {
        addresses = [host];
      } else {
        try {
          addresses = (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
        } catch {
          return fail(`err=Post "${rawUrl}": dial tcp: lookup ${host}: no such host`);
        }
      }
      connectAddress = addresses.find((a) => this.filter.allowIp(a));
      if (connectAddress === undefined) {
        return fail(
          `err=Post "${rawUrl}": address forbidden, you may need to set AllowedUntrustedInternalConnections to allow an integration access to your internal network`,
        );
      }
    }
    // Go writes Host, User-Agent, Content-Length, the request's headers sorted, then Accept-Encoding.
    const headers: Record<string, string> = {
      Host: url.host,
      "User-Agent": OUTGOING_USER_AGENT,
      "Content-Length": String(Buffer.byteLength(body)),
      Accept: "application/json",
    };
    if (trusted) headers["Authorization"] = `Bearer ${sessionToken}`;
    // Go's client turns user:password@ in the URL into basic auth.
    else if (url.username || url.password) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers["Authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
    }
    headers["Content-Type"] = "application/json";
    headers["Accept-Encoding"] = "gzip";
    entry.headers = { ...headers };

    const secure = url.protocol === "https:";
    const transport = secure ? https : http;
    const extraCa = this.store.opts.outgoingCa ?? [];
    const options: https.RequestOptions = {
      method: "POST",
      host: connectAddress ?? host,
      port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
    };
    if (secure) {
      options.servername = isIP(host) ? undefined : host;
      options.rejectUnauthorized = !this.store.opts.insecureOutgoingConnections;
      if (extraCa.length > 0) options.ca = [...rootCertificates, ...extraCa.map((c) => c.toString())];
    }
    const connectTimeoutMs = this.store.opts.outgoingConnectTimeoutMs ?? OUTGOING_CONNECT_TIMEOUT_MS;
    let result: OutgoingResult;
    try {
      result = await new Promise<OutgoingResult>((resolve, reject) => {
        const req = transport.request(options, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            let data = Buffer.concat(chunks);
            if ((res.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
              try {
                data = gunzipSync(data);
              } catch (error) {
                reject(error);
                return;
              }
            }
            resolve({ status: res.statusCode ?? 0, body: data });
          });
        });
        req.removeHeader("Connection"); // Go sends no Connection header
        this.inFlight.add(req);
        const total = setTimeout(
          () =>
            req.destroy(
              new Error("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
            ),
          this.store.outgoingTimeoutMs,
        );
        const connect = setTimeout(() => req.destroy(new Error("dial tcp: i/o timeout")), connectTimeoutMs);
        req.on("socket", (socket) => {
          const connected = () => clearTimeout(connect);
          socket.once(secure ? "secureConnect" : "connect", connected);
        });
        req.on("close", () => {
          clearTimeout(total);
          clearTimeout(connect);
          this.inFlight.delete(req);
        });
        req.on("error", reject);
        req.end(body);
      });
    } catch (error) {
      return fail(`err=Post "${rawUrl}": ${error instanceof Error ? error.message : String(error)}`);
    }
    entry.status = result.status;
    entry.responseText = result.body.toString("utf8");
    if (result.status !== 200) {
      let status = 400;
      if (this.store.atLeast(11, 10) && result.status >= 500) status = result.status === 503 ? 503 : 502;
      if (this.store.atLeast(11, 10) && result.status === 429) status = 429;
      return fail(`status=${result.status}`, status);
    }
    this.store.emit({ type: "integration_request", request: clone(entry) });
    return result;
  }
}
