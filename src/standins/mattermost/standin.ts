/**
 * A protocol-faithful Mattermost stand-in: a real HTTP(S) server on 127.0.0.1 with an in-memory
 * store that answers the REST API v4 endpoints the access-request bot uses the way Mattermost
 * 5.36–11 does (MATTERMOST-API.md): error bodies and ids, authentication, membership rules,
 * PUT-vs-patch semantics, integration stripping, pending_post_id de-duplication, size limits,
 * the GCRA rate limiter, and — the important part — the button click: `POST
 * /posts/{id}/actions/{action_id}` makes this server POST the exact callback body to the action's
 * `integration.url` through an "untrusted" outgoing client (address filter, TLS verification,
 * timeouts) and applies the integration's reply. Interactive dialogs (open with a signed trigger
 * id, submit the way the webapp does) work the same way.
 *
 * This class is the facade: lifecycle, faults, events and an HTTP client for tests; the admin
 * methods (createTeam, createBot, …) come from `admin.ts` and only set up state and inspect it.
 * The behaviour lives in the files next to it (see docs/architecture.md). Only node built-ins are used.
 */
import type { EventEmitter } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import { StandinAdmin } from "./admin.js";
import { StandinServer } from "./server.js";
import { MattermostStore } from "./store.js";
import type {
  FaultSpec,
  HttpReply,
  MattermostStandinOptions,
  OutgoingLogEntry,
  RequestLogEntry,
  StandinEvent,
} from "./types.js";

export class MattermostStandin extends StandinAdmin {
  readonly version: string;
  readonly events: EventEmitter;
  private readonly server: StandinServer;

  private constructor(opts: MattermostStandinOptions) {
    super(new MattermostStore(opts));
    this.version = this.store.version;
    this.events = this.store.events.emitter;
    this.server = new StandinServer(this.store);
  }

  /** Starts a stand-in on 127.0.0.1 (port `opts.port`, default any free port). */
  static async start(opts: MattermostStandinOptions = {}): Promise<MattermostStandin> {
    const standin = new MattermostStandin(opts);
    await standin.server.listen(opts.port ?? 0);
    return standin;
  }

  /** Clock (ms) for create/update times, pending_post_id expiry, trigger ids and the rate limiter. */
  get now(): () => number {
    return this.store.now;
  }

  set now(clock: () => number) {
    this.store.now = clock;
  }

  /** Database/file store health as reported by `GET /system/ping?get_server_status=true`. */
  get healthy(): boolean {
    return this.store.healthy;
  }

  set healthy(value: boolean) {
    this.store.healthy = value;
  }

  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  get url(): string {
    return this.store.url;
  }

  get port(): number {
    return this.store.port;
  }

  /** Every API request received, in arrival order (faulted and rate-limited ones included). */
  get requests(): readonly RequestLogEntry[] {
    return this.store.requestLog;
  }

  /** Every request this server made to an integration URL (clicks, dialog submissions). */
  get outgoingRequests(): readonly OutgoingLogEntry[] {
    return this.store.outgoingLog;
  }

  clearLogs(): void {
    this.store.requestLog.length = 0;
    this.store.outgoingLog.length = 0;
  }

  /** Stops listening, closes every connection, aborts outgoing calls and pending `waitFor`s. */
  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Replaces the active faults (null clears them). See {@link FaultSpec}. */
  set faults(value: FaultSpec | readonly FaultSpec[] | null) {
    this.server.faults.set(value);
  }

  get faults(): readonly FaultSpec[] {
    return this.server.faults.get();
  }

  /** `true`: close the listener and every connection (clients get ECONNREFUSED). `false`: listen again on the same port. */
  setDown(down: boolean): Promise<void> {
    return this.server.setDown(down);
  }

  /**
   * Resolves with the first event (already happened or future) the predicate accepts; rejects
   * after `timeoutMs` or when the stand-in stops.
   */
  waitFor(predicate: (event: StandinEvent) => boolean, timeoutMs = 5000): Promise<StandinEvent> {
    return this.store.events.waitFor(predicate, timeoutMs);
  }

  /** Clicks a button as the webapp does: `POST /api/v4/posts/{postId}/actions/{actionId}` over HTTP. */
  clickAction(
    userToken: string,
    postId: string,
    actionId: string,
    body: { selected_option?: string; cookie?: string } = {},
  ): Promise<HttpReply> {
    return this.request("POST", `/api/v4/posts/${postId}/actions/${actionId}`, { token: userToken, body });
  }

  /** Submits a dialog as the webapp does: `POST /api/v4/actions/dialogs/submit` over HTTP. */
  submitDialog(userToken: string, body: Record<string, unknown>): Promise<HttpReply> {
    return this.request("POST", "/api/v4/actions/dialogs/submit", { token: userToken, body });
  }

  /** An HTTP request to this server (the same path every client takes). */
  request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpReply> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const transport = this.store.secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          host: "127.0.0.1",
          port: this.store.port,
          method,
          path,
          headers,
          agent: false,
          rejectUnauthorized: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown;
            try {
              body = text === "" ? undefined : JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }
}
