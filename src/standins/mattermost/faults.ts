/**
 * Fault injection for tests: what a client sees when Mattermost or the proxy in front of it fails.
 * A 500 is Mattermost's JSON error body (MATTERMOST-API.md §1 "Error body"); a 429 is the rate
 * limiter's plain text (§3); 502/503 are a reverse proxy's HTML pages (nginx's wording); `reset`
 * drops the connection with a TCP RST; `hang` never answers; proxy-faults.ts has the 2xx answers
 * a proxy gives that are not Mattermost's. Not a Mattermost feature: the shapes
 * are Mattermost's, the switch is ours.
 */
import type * as http from "node:http";
import { performance } from "node:perf_hooks";
import { ApiError, errorBody } from "./errors.js";
import { goJson, newMattermostId } from "./model.js";
import { applyProxyFault, isProxyFault } from "./proxy-faults.js";
import type { MattermostStore } from "./store.js";
import type { FaultSpec, RequestLogEntry } from "./types.js";

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  until: number;
}

export class FaultInjector {
  private active: ActiveFault[] = [];

  constructor(private readonly store: MattermostStore) {}

  /** Replaces the active faults (null clears them). */
  set(value: FaultSpec | readonly FaultSpec[] | null): void {
    const specs = value === null ? [] : Array.isArray(value) ? value : [value as FaultSpec];
    this.active = specs.map((spec) => ({
      spec,
      remaining: spec.times ?? (spec.forMs === undefined ? 1 : Number.POSITIVE_INFINITY),
      until: spec.forMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + spec.forMs,
    }));
  }

  /** The faults still in force. */
  get(): readonly FaultSpec[] {
    return this.active.filter((f) => f.remaining > 0 && f.until > performance.now()).map((f) => f.spec);
  }

  /** Answers (or drops) the request when a fault matches it; returns true when it did. */
  apply(
    method: string,
    path: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestLogEntry,
  ): boolean {
    const now = performance.now();
    this.active = this.active.filter((f) => f.remaining > 0 && f.until > now);
    const fault = this.active.find((f) => !f.spec.match || f.spec.match({ method, path }));
    if (!fault) return false;
    fault.remaining--;
    const spec = fault.spec;
    if (isProxyFault(spec)) return applyProxyFault(spec, res); // answers that are not Mattermost's
    if ("hang" in spec) return true; // never answered; stop() or setDown(true) closes the socket
    if ("reset" in spec) {
      const socket = req.socket as typeof req.socket & { resetAndDestroy?: () => void };
      if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
      else socket.destroy();
      return true;
    }
    entry.status = spec.status;
    const retryAfter = spec.retryAfter ?? (spec.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
    if (spec.status === 429) {
      res.writeHead(429, { "Content-Type": "text/plain; charset=utf-8" }).end("limit exceeded\n");
    } else if (spec.status === 500) {
      const requestId = newMattermostId();
      const error = new ApiError(500, "app.standin.fault_injected");
      const body = errorBody(error, requestId, this.store.opts.enableDeveloper);
      entry.responseBody = body;
      res
        .writeHead(500, {
          "Content-Type": "application/json",
          "X-Request-Id": requestId,
          "X-Version-Id": this.store.versionId,
        })
        .end(goJson(body));
    } else {
      // 502/503 come from a reverse proxy in front of Mattermost, not from Mattermost itself.
      const title = spec.status === 502 ? "502 Bad Gateway" : "503 Service Temporarily Unavailable";
      res
        .writeHead(spec.status, { "Content-Type": "text/html" })
        .end(
          `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
        );
    }
    return true;
  }
}
