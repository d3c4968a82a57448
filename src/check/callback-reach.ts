/**
 * Can Mattermost's clicks reach this daemon? From this host, connect to [http] public_addr the
 * way Mattermost will (TCP, then the TLS handshake). When nothing answers there because the
 * daemon is not running, listen on [http] listen_addr for a moment and try again: reaching that
 * temporary listener proves the address, the port forwarding and the firewall in between.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import { selfSignedCert } from "../callback/self-signed.js";
import { listenOn } from "../lib/listen.js";

const CONNECT_TIMEOUT_MS = 5_000;
/** The temporary listener answers only this path, with the nonce, so a reply proves it was us. */
const PROBE_PATH = "/teleport-mattermost-check/";

export interface CallbackTarget {
  /** The URL Mattermost calls (public_addr), e.g. https://tm.example.com:8081. */
  publicUrl: string;
  /** Where the callback server listens, host:port (host "" = every interface). */
  listenAddr: string;
  /** The callback server's TLS pair; undefined → self-signed, or plain HTTP when `plainHttp`. */
  tls?: { cert: string; key: string };
  plainHttp: boolean;
}

export type CallbackReach = { reached: true; how: string } | { reached: false; problem: string; fix: string };

export async function checkCallbackReach(target: CallbackTarget): Promise<CallbackReach> {
  const url = new URL(target.publicUrl);
  const secure = url.protocol === "https:";
  const port = Number(url.port || (secure ? 443 : 80));
  const where = `${url.hostname}:${port}`;
  const first = await handshake(url.hostname, port, secure);
  if (first.ok) return { reached: true, how: `${where} answers${first.detail}` };
  if (first.code !== "ECONNREFUSED") {
    return {
      reached: false,
      problem: `cannot connect to ${where}: ${first.detail}`,
      fix: "Check [http] public_addr (host and port), DNS, and firewalls between this host and it",
    };
  }
  // Nothing listens there: maybe only because the daemon is not running. Stand in for it.
  const nonce = randomUUID();
  const server = await temporaryListener(target, nonce);
  if (!server.ok) {
    return {
      reached: false,
      problem: `nothing answers at ${where}, and [http] listen_addr ${target.listenAddr} cannot be opened here for a test (${server.code})`,
      fix: "Start teleport-mattermost and run check again, or free that port",
    };
  }
  try {
    const probe = await fetchProbe(url, nonce, secure);
    if (probe === nonce) {
      return {
        reached: true,
        how: `${where} reaches [http] listen_addr ${target.listenAddr} (tested with a temporary listener, as the daemon is not running)`,
      };
    }
    return {
      reached: false,
      problem: `nothing answers at ${where}${probe ? `; something else does (${probe})` : ""}, while [http] listen_addr ${target.listenAddr} is free`,
      fix: "Make [http] public_addr lead to [http] listen_addr: the same port, or a proxy or port forward to it",
    };
  } finally {
    server.close();
  }
}

type Handshake = { ok: true; detail: string } | { ok: false; code: string; detail: string };

/** TCP connect, then (for https) a TLS handshake that accepts any certificate but reports on it. */
function handshake(host: string, port: number, secure: boolean): Promise<Handshake> {
  return new Promise((resolve) => {
    const done = (result: Handshake) => {
      socket.destroy();
      resolve(result);
    };
    const socket: net.Socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false })
      : net.connect({ host, port });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done({ ok: false, code: "ETIMEDOUT", detail: "timed out" }));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done({ ok: false, code: error.code ?? "ERROR", detail: error.code ?? error.message }),
    );
    socket.once(secure ? "secureConnect" : "connect", () => {
      if (!secure) return done({ ok: true, detail: " (plain HTTP)" });
      const tlsSocket = socket as tls.TLSSocket;
      const verdict = tlsSocket.authorized
        ? "certificate trusted"
        : `certificate not trusted here (${String(tlsSocket.authorizationError)}): Mattermost must trust it or allow insecure outgoing connections`;
      done({ ok: true, detail: `, TLS handshake ok, ${verdict}` });
    });
  });
}

type Listener = { ok: true; close: () => void } | { ok: false; code: string };

async function temporaryListener(target: CallbackTarget, nonce: string): Promise<Listener> {
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const found = req.url === `${PROBE_PATH}${nonce}`;
    res.writeHead(found ? 200 : 404, { "Content-Type": "text/plain" }).end(found ? nonce : "");
  };
  let server: http.Server;
  if (target.plainHttp) {
    server = http.createServer(answer);
  } else {
    const pair =
      target.tls ?? (await selfSignedCert({ commonName: "teleport-mattermost-check", hosts: ["localhost"] }));
    server = https.createServer({ cert: pair.cert, key: pair.key }, answer);
  }
  try {
    await listenOn(server, target.listenAddr);
  } catch (error) {
    return { ok: false, code: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
  return {
    ok: true,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** GETs the probe path through public_addr; the body, or undefined when nothing answered. */
function fetchProbe(url: URL, nonce: string, secure: boolean): Promise<string | undefined> {
  const target = new URL(`${url.pathname.replace(/\/+$/, "")}${PROBE_PATH}${nonce}`, url);
  return new Promise((resolve) => {
    const request = (secure ? https : http).get(
      target,
      { rejectUnauthorized: false, timeout: CONNECT_TIMEOUT_MS, agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve(body === nonce ? nonce : `HTTP ${response.statusCode}`));
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(undefined));
  });
}
