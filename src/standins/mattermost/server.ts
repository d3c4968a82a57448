/**
 * The HTTP(S) front of the stand-in, in the order a real deployment handles a request: the
 * listener on 127.0.0.1, injected faults (a failing proxy or server), the rate limiter (§3, before
 * Mattermost's handler), Go's plain `404 page not found` outside `/api/v4/`, then Mattermost's
 * handler wrapper (`server/channels/web/handlers.go`): `X-Request-Id` and `X-Version-Id` on every
 * answer, `Expires: 0` on GETs, JSON bodies escaped like Go's encoder, an `AppError` body for every
 * failure (MATTERMOST-API.md §1), an empty 405. Also the lifecycle: listen, down/up on the same
 * port, stop.
 */
import * as http from "node:http";
import * as https from "node:https";
import { actionRoutes } from "./actions.js";
import { channelRoutes } from "./channels.js";
import { dialogRoutes } from "./dialogs.js";
import { ApiError, errorBody } from "./errors.js";
import { FaultInjector } from "./faults.js";
import { clone, goJson, newMattermostId } from "./model.js";
import { postRoutes } from "./posts.js";
import { RateLimiter } from "./rate-limit.js";
import { dispatch, type Reply, type Route } from "./router.js";
import type { MattermostStore } from "./store.js";
import { systemRoutes } from "./system.js";
import type { RequestLogEntry } from "./types.js";
import { userRoutes } from "./users.js";

export class StandinServer {
  readonly faults: FaultInjector;
  private readonly server: http.Server;
  private readonly routes: Route[];
  private readonly limiter: RateLimiter | undefined;
  private down = false;
  private stopped = false;

  constructor(private readonly store: MattermostStore) {
    const opts = store.opts;
    this.faults = new FaultInjector(store);
    this.limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : undefined;
    this.routes = [
      ...systemRoutes(store),
      ...userRoutes(store),
      ...channelRoutes(store),
      ...postRoutes(store),
      ...actionRoutes(store),
      ...dialogRoutes(store),
    ];
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    this.server = opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
      : http.createServer(handler);
    this.server.keepAliveTimeout = 5000;
  }

  /** Listens on 127.0.0.1 and records the port in the store. */
  async listen(port: number): Promise<void> {
    this.store.port = await listen(this.server, port);
  }

  /** Stops listening, closes every connection, aborts outgoing calls and pending `waitFor`s. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.store.outgoing.abortAll();
    this.store.events.close();
    if (this.down) return;
    await this.close();
  }

  /** `true`: close the listener and every connection (clients get ECONNREFUSED). `false`: listen again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (down === this.down || this.stopped) return;
    this.down = down;
    if (down) await this.close();
    else await listen(this.server, this.store.port);
  }

  private close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const store = this.store;
    const at = store.now();
    const url = new URL(req.url ?? "/", "http://standin.invalid");
    const method = req.method ?? "GET";
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const rawBody = raw.toString("utf8");
    let body: unknown;
    if (rawBody !== "") {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body,
      status: 0,
      at,
    };
    store.requestLog.push(entry);

    if (this.faults.apply(method, url.pathname, req, res, entry)) return;
    if (this.limiter?.apply(req, res, url.searchParams, entry, store.now())) return;

    let decodedPath: string;
    try {
      decodedPath = decodeURIComponent(url.pathname);
    } catch {
      decodedPath = url.pathname;
    }
    if (!decodedPath.startsWith("/api/v4/")) {
      entry.status = 404;
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 page not found\n");
      return;
    }

    const requestId = newMattermostId();
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("X-Version-Id", store.versionId);
    let reply: Reply;
    try {
      const request = { req, method, path: decodedPath, query: url.searchParams, body, rawBody };
      reply = await dispatch(this.routes, store.sessions, request);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(
              500,
              "app.standin.internal_error",
              error instanceof Error ? error.message : String(error),
            );
      reply = { status: apiError.status, body: errorBody(apiError, requestId, store.opts.enableDeveloper) };
    }
    if (res.destroyed) return;
    if (reply.status === 405) {
      entry.status = 405;
      res.writeHead(405).end();
      return;
    }
    if (method === "GET") res.setHeader("Expires", "0");
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    entry.status = reply.status;
    if (reply.body === undefined) {
      res.writeHead(reply.status).end();
      return;
    }
    entry.responseBody = clone(reply.body);
    res.setHeader("Content-Type", "application/json");
    res.writeHead(reply.status).end(goJson(reply.body));
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("aborted")));
  });
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
