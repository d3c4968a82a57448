/**
 * The HTTP(S) server Mattermost calls when someone clicks a button. It owns transport concerns
 * only: TLS, routes, method and content type, body size, timeouts, basic auth, JSON parsing and
 * the reply. What a click means is the handler's business. Mattermost shows the clicker a
 * generic error for anything but a 200 with a JSON body (MATTERMOST-API.md §4, §10), so every
 * request that parses as a callback is answered 200 JSON, refusals included.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { listenOn } from "../lib/listen.js";

/** Route of button clicks, as in the seed plugin (ORIGINAL-PLUGIN.md §3). */
export const ACTION_PATH = "/mattermost_action";
/** Route of dialog submissions (MATTERMOST-API.md §5). */
export const DIALOG_PATH = "/mattermost_dialog";
/**
 * Click bodies are under 2 KB and dialog submissions carry at most a 500-rune reason
 * (MATTERMOST-API.md §4, §5); anything far larger is not Mattermost.
 */
export const MAX_BODY_BYTES = 64 * 1024;
/** Mattermost gives up on a callback after 30 s (MATTERMOST-API.md §4); answer well before. */
export const HANDLER_TIMEOUT_MS = 10_000;
/**
 * Mattermost sends a callback in one go right after connecting (its dial timeout is 3 s,
 * MATTERMOST-API.md §4), so a client still sending headers after 5 s, or a body after 5 s, is
 * not Mattermost: it is cut off (408, or the connection closed).
 */
export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 5_000;
/** How often Node looks for requests past those timeouts (its default, 30 s, would let them linger). */
const TIMEOUT_CHECK_INTERVAL_MS = 500;

export type JsonReply = Record<string, unknown>;

export interface CallbackHandlers {
  /** A button click body (already JSON-parsed). Must resolve to the reply for Mattermost. */
  action(body: unknown, signal: AbortSignal): Promise<JsonReply>;
  /** A dialog submission body (already JSON-parsed). */
  dialog(body: unknown, signal: AbortSignal): Promise<JsonReply>;
}

/** What Mattermost shows when a handler fails: an ephemeral text for clicks, a dialog error for dialogs. */
const FAILURE_REPLIES: Record<string, JsonReply> = {
  [ACTION_PATH]: { ephemeral_text: "Something went wrong handling this click; please try again." },
  [DIALOG_PATH]: { error: "Something went wrong handling this dialog; please try again." },
};

export interface CallbackServerOptions {
  /** host:port or :port. */
  listenAddr: string;
  tls?: { cert: string; key: string; clientCa?: string; verifyClientCert?: boolean };
  basicAuth?: { user: string; password: string };
  handlers: CallbackHandlers;
  logger: Logger;
}

export class CallbackServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<import("node:net").Socket>();

  constructor(private readonly options: CallbackServerOptions) {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const common = {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    };
    this.server = options.tls
      ? https.createServer(
          {
            ...common,
            cert: options.tls.cert,
            key: options.tls.key,
            // The certificate is checked once the handshake is done (clientCertRefusal), where
            // the reason can be logged; nothing is read from the connection before that.
            ...(options.tls.verifyClientCert
              ? {
                  requestCert: true,
                  rejectUnauthorized: false,
                  ...(options.tls.clientCa ? { ca: options.tls.clientCa } : {}),
                }
              : {}),
          },
          listener,
        )
      : http.createServer(common, listener);
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    if (options.tls?.verifyClientCert) {
      const said = new Map<string, number>();
      this.server.on("secureConnection", (socket: TLSSocket) => {
        const refusal = clientCertRefusal(socket);
        if (!refusal) return;
        socket.destroy();
        // Once a minute per kind: a scanner without a certificate must not flood the log.
        const last = said.get(refusal.kind) ?? Number.NEGATIVE_INFINITY;
        if (Date.now() - last < REFUSAL_LOG_INTERVAL_MS) return;
        said.set(refusal.kind, Date.now());
        options.logger.warn({ remote: socket.remoteAddress, reason: refusal.reason }, refusal.message);
      });
    }
  }

  get protocol(): "https" | "http" {
    return this.options.tls ? "https" : "http";
  }

  listen(): Promise<AddressInfo> {
    return listenOn(this.server, this.options.listenAddr);
  }

  /** Stops accepting, lets in-flight requests finish within `graceMs`, then cuts the rest. */
  async close(graceMs = 5_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections?.();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const log = this.options.logger;
    // Refused at the handshake already (above); never serve an unverified client regardless.
    if (this.options.tls?.verifyClientCert && !(req.socket as TLSSocket).authorized) {
      req.socket.destroy();
      return;
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    const handler =
      path === ACTION_PATH
        ? this.options.handlers.action
        : path === DIALOG_PATH
          ? this.options.handlers.dialog
          : undefined;
    if (!handler) return sendJson(res, 404, { error: "not found" });
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return sendJson(res, 405, { error: "method not allowed" });
    }
    if (this.options.basicAuth && !basicAuthMatches(req.headers.authorization, this.options.basicAuth)) {
      res.setHeader("WWW-Authenticate", 'Basic realm="teleport-mattermost"');
      log.warn({ remote: req.socket.remoteAddress }, "Callback refused: wrong or missing basic auth");
      return sendJson(res, 401, { error: "unauthorized" });
    }
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (contentType !== "application/json") return sendJson(res, 415, { error: "expected application/json" });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_BODY_BYTES));
    } catch (error) {
      const tooLarge = (error as Error).message === "too large";
      log.warn(
        { remote: req.socket.remoteAddress },
        tooLarge ? "Callback body too large" : "Callback body is not JSON",
      );
      return sendJson(res, tooLarge ? 413 : 400, { error: tooLarge ? "body too large" : "invalid JSON" });
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("handler timed out")), HANDLER_TIMEOUT_MS);
    try {
      const reply = await handler.call(this.options.handlers, body, controller.signal);
      sendJson(res, 200, reply);
    } catch (error) {
      log.error({ err: error }, "Callback handler failed");
      sendJson(res, 200, FAILURE_REPLIES[path] ?? {});
    } finally {
      clearTimeout(timer);
    }
  }
}

/** How often the same kind of refused client certificate is logged, at most. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** OpenSSL's words for the verification results a wrong client_ca_file gives. */
const VERIFY_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in certificate chain",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  CERT_HAS_EXPIRED: "certificate has expired",
};

/** Why a callback client's certificate is refused, said with the key that fixes it; undefined when it is fine. */
function clientCertRefusal(socket: TLSSocket): { kind: string; reason: string; message: string } | undefined {
  if (socket.authorized) return undefined;
  const code = String(socket.authorizationError ?? "unknown");
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) {
    return {
      kind: "none",
      reason: "no certificate",
      message:
        "Callback refused: the client presented no TLS certificate, and [http.tls] verify_client_cert requires one. " +
        "Give the client that calls the daemon (Mattermost or its proxy) a certificate, or set verify_client_cert = false",
    };
  }
  const reason = VERIFY_REASONS[code] ?? code;
  const subject = peer.subject?.CN ? ` (CN=${peer.subject.CN})` : "";
  return {
    kind: code,
    reason,
    message:
      `Callback refused: the client's TLS certificate${subject} is not trusted: ${reason}. ` +
      "Set [http.tls] client_ca_file to the PEM file of the CA that signs the client certificates",
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new Error("too large"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(new Error("too large"));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function basicAuthMatches(header: string | undefined, expected: { user: string; password: string }): boolean {
  const match = /^Basic\s+(.+)$/i.exec(header ?? "");
  const given = match ? Buffer.from(match[1] ?? "", "base64").toString("utf8") : "";
  // Digests have one length, so the comparison takes the same time whatever was sent.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(`${expected.user}:${expected.password}`)) && match !== null;
}
