/**
 * `host:port` addresses as the original plugin accepted them: `localhost:3025`,
 * `teleport.example.com:443`, `[::1]:3025`, and for listening `:8081` (every interface).
 */
export interface HostPort {
  /** Without brackets for IPv6; "" when the address left it out. */
  host: string;
  port: number;
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\d{1,3}(\.\d{1,3}){3}$/;

/** Parses `host:port`; undefined when it is not one (a scheme, a path, no port, port > 65535). */
export function parseHostPort(text: string, options: { hostRequired: boolean }): HostPort | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? "";
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  if (host === "" && options.hostRequired) return undefined;
  if (host !== "" && match[1] === undefined && !HOST.test(host)) return undefined;
  return { host, port };
}
