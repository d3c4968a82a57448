/** Starts a server on a `host:port` / `:port` address; rejects with the listen error (EADDRINUSE …). */
import type { AddressInfo, Server } from "node:net";
import { AppError } from "../errors.js";

export function splitListenAddr(addr: string): { host: string | undefined; port: number } {
  const index = addr.lastIndexOf(":");
  const host = index > 0 ? addr.slice(0, index).replace(/^\[|\]$/g, "") : undefined;
  return { host: host || undefined, port: Number(addr.slice(index + 1)) };
}

export async function listenOn(server: Server, listenAddr: string): Promise<AddressInfo> {
  const { host, port } = splitListenAddr(listenAddr);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/**
 * A listen failure as one line that names the config key (e.g. `[http] listen_addr`) and the
 * fix, instead of Node's "listen EADDRINUSE: address already in use …".
 */
export function explainListenError(error: unknown, listenAddr: string, key: string): AppError {
  const code = (error as NodeJS.ErrnoException).code;
  const { port } = splitListenAddr(listenAddr);
  const [why, fix] =
    code === "EADDRINUSE"
      ? [
          `port ${port} is already in use by another process`,
          `Stop that process (\`ss -ltnp 'sport = :${port}'\` shows it), or set ${key} to a free port`,
        ]
      : code === "EACCES"
        ? [`this user may not listen on port ${port}`, `Set ${key} to a port above 1023`]
        : code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN"
          ? [
              "this host has no such address",
              `Set ${key} to an address of this host, or to ":${port}" for every one`,
            ]
          : [code ?? String(error), `Check ${key}`];
  return new AppError("CONFIG", `${key} ${listenAddr}: cannot listen: ${why}`, { cause: error, fix });
}
