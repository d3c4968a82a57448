/**
 * Where the demo page listens: `--port` and `--host` checked before anything else starts, a busy
 * port answered with a free one to use instead, and a warning when the page is reachable from
 * other machines.
 */
import type * as http from "node:http";
import { isIP } from "node:net";
import { AppError } from "../errors.js";

/** Ports tried after a busy one, to suggest a free one. */
const SUGGESTION_TRIES = 20;
const MAX_PORT = 65_535;

/** `--port` as typed: a whole number from 0 (any free port) to 65535. */
export function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > MAX_PORT) {
    throw new AppError("CONFIG", `--port ${JSON.stringify(text)} is not a port number`, {
      fix: `Use --port N with N from 1 to ${MAX_PORT}, e.g. --port 8080`,
    });
  }
  return port;
}

/** Loopback names and addresses: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || (isIP(bare) === 4 && bare.startsWith("127."));
}

/** The warning for a page other machines can reach, or undefined on loopback. */
export function exposureWarning(host: string, port: number): string | undefined {
  if (isLoopback(host)) return undefined;
  return (
    `The demo page on ${host}:${port} can be reached from other machines: anyone who reaches it can create, approve and deny the demo's requests. ` +
    "It runs only stand-ins (no real Teleport or Mattermost); use --host 127.0.0.1 to keep it on this host"
  );
}

/** The address to open: an unspecified host (0.0.0.0, ::) is reached at localhost here. */
export function pageUrl(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, "");
  const shown = bare === "0.0.0.0" || bare === "::" ? "localhost" : bare;
  return `http://${isIP(shown) === 6 ? `[${shown}]` : shown}:${port}/`;
}

/** Listens, or throws one clear error: a busy port names a free one, a bad host says so. */
export async function listenForPage(server: http.Server, host: string, port: number): Promise<number> {
  try {
    await listen(server, host, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES") {
      const free = await freePortNear(server, host, port);
      const why = code === "EADDRINUSE" ? "is already in use" : "needs privileges this user lacks";
      throw new AppError("CONFIG", `Port ${port} on ${host} ${why}`, {
        cause: error,
        fix: free ? `Use --port N with a free port, e.g. --port ${free}` : "Use --port N with a free port",
      });
    }
    throw new AppError("CONFIG", `The demo page cannot listen on --host ${host}: ${code ?? String(error)}`, {
      cause: error,
      fix: "Use an address of this host, e.g. --host 127.0.0.1 (this host only) or --host 0.0.0.0 (every interface)",
    });
  }
  const address = server.address();
  return typeof address === "object" && address ? address.port : port;
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => {
      server.off("listening", listening);
      reject(error);
    };
    const listening = () => {
      server.off("error", failed);
      resolve();
    };
    server.once("error", failed);
    server.once("listening", listening);
    server.listen({ host, port });
  });
}

/** The first port after `port` that this server can take (tried and let go again). */
async function freePortNear(server: http.Server, host: string, port: number): Promise<number | undefined> {
  for (let candidate = port + 1; candidate <= Math.min(port + SUGGESTION_TRIES, MAX_PORT); candidate++) {
    try {
      await listen(server, host, candidate);
      await new Promise((resolve) => server.close(resolve));
      return candidate;
    } catch {
      // busy too: try the next
    }
  }
  return undefined;
}
