/** Starts a server on a `host:port` / `:port` address; rejects with the listen error (EADDRINUSE …). */
import type { AddressInfo, Server } from "node:net";

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
