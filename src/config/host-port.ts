/**
 * `host:port` addresses as the original plugin accepted them: `localhost:3025`,
 * `teleport.example.com:443`, `[::1]:3025`, and for listening `:8081` (every interface).
 * Host names are held to DNS's bounds, ports to TCP's.
 */
export interface HostPort {
  /** Without brackets for IPv6; "" when the address left it out. */
  host: string;
  port: number;
}

/** RFC 1035 §2.3.4 / RFC 1123 §2.1: a host name is at most 253 characters, a label at most 63. */
export const MAX_HOSTNAME_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;
/** TCP ports; 0 only for listening (the system picks one). */
export const MAX_PORT = 65_535;

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** What is wrong with `host` as a DNS name or IPv4 address ("has …", "is not …"), or undefined. */
export function hostProblem(host: string): string | undefined {
  if (host.length > MAX_HOSTNAME_LENGTH) {
    return `has a host name of ${host.length} characters; DNS allows at most ${MAX_HOSTNAME_LENGTH}`;
  }
  if (IPV4.test(host)) {
    return host.split(".").every((part) => Number(part) <= 255) ? undefined : "is not an IPv4 address";
  }
  const labels = host.replace(/\.$/, "").split(".");
  const long = labels.find((label) => label.length > MAX_LABEL_LENGTH);
  if (long !== undefined) {
    return `has a host name part of ${long.length} characters; DNS allows at most ${MAX_LABEL_LENGTH} between dots`;
  }
  if (!labels.every((label) => LABEL.test(label))) {
    return "is not a host name (letters, digits, hyphens and dots; no hyphen at either end of a part)";
  }
  return undefined;
}

export type HostPortCheck = { ok: true; value: HostPort } | { ok: false; problem: string };

/** Checks `host:port`, saying what is wrong when it is not one. */
export function checkHostPort(
  text: string,
  options: { hostRequired: boolean; allowPortZero?: boolean },
): HostPortCheck {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/]*)):(\d+)$/.exec(text.trim());
  if (!match) return { ok: false, problem: "is not a host:port address" };
  const host = match[1] ?? match[2] ?? "";
  const digits = match[3] ?? "";
  const port = Number(digits);
  const minPort = options.allowPortZero ? 0 : 1;
  if (digits.length > 5 || port > MAX_PORT || port < minPort) {
    return { ok: false, problem: `has a port outside ${minPort}–${MAX_PORT}` };
  }
  if (host === "") {
    return options.hostRequired
      ? { ok: false, problem: "names no host" }
      : { ok: true, value: { host, port } };
  }
  if (match[1] === undefined) {
    const problem = hostProblem(host);
    if (problem) return { ok: false, problem };
  }
  return { ok: true, value: { host, port } };
}

/** Parses `host:port`; undefined when it is not one (a scheme, a path, no port, port > 65535). */
export function parseHostPort(
  text: string,
  options: { hostRequired: boolean; allowPortZero?: boolean },
): HostPort | undefined {
  const checked = checkHostPort(text, { allowPortZero: true, ...options });
  return checked.ok ? checked.value : undefined;
}
