/**
 * The address filter of Mattermost's "untrusted" outgoing client (MATTERMOST-API.md §4 "Which
 * URLs Mattermost may call"; `server/platform/services/httpservice/client.go` and
 * `httpservice.go`): reserved ranges and the server's own addresses are refused unless
 * `ServiceSettings.AllowedUntrustedInternalConnections` names the host exactly or holds a CIDR
 * containing the address.
 */
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { RESERVED_CIDRS } from "./limits.js";

/** Parses an IPv4/IPv6 literal to bytes (IPv4-mapped IPv6 becomes 4 bytes, like Go's To4). */
function ipBytes(address: string): Uint8Array | undefined {
  const kind = isIP(address);
  if (kind === 4) return Uint8Array.from(address.split(".").map(Number));
  if (kind !== 6) return undefined;
  let text = address.split("%")[0] ?? address;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split(".").map(Number);
    tail = [(a << 8) | b, (c << 8) | d];
    text = text.slice(0, -v4[1].length);
    if (!text.endsWith("::")) text = text.replace(/:$/, "");
  }
  const [head = "", rest] = text.split("::");
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((h) => Number.parseInt(h, 16)));
  let groups = parse(head);
  if (rest !== undefined) {
    const back = parse(rest);
    const missing = 8 - tail.length - groups.length - back.length;
    groups = [...groups, ...new Array<number>(Math.max(missing, 0)).fill(0), ...back];
  }
  groups = [...groups.filter((g) => !Number.isNaN(g)), ...tail].slice(0, 8);
  while (groups.length < 8) groups.push(0);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function cidrContains(cidr: string, ip: Uint8Array): boolean {
  const [base = "", bitsText] = cidr.split("/");
  const network = ipBytes(base);
  const bits = Number(bitsText);
  if (!network || !Number.isInteger(bits) || network.length !== ip.length) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if (((network[i >> 3] ?? 0) & mask) !== ((ip[i >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

function isReservedIp(ip: Uint8Array): boolean {
  return RESERVED_CIDRS.some((cidr) => cidrContains(cidr, ip));
}

function isOwnIp(ip: Uint8Array): boolean {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      const own = ipBytes(a.address);
      if (own && own.length === ip.length && own.every((b, i) => b === ip[i])) return true;
    }
  }
  return false;
}

/** `AllowedUntrustedInternalConnections`: whitespace- or comma-separated hostnames, IPs and CIDRs. */
export class AddressFilter {
  private readonly allowed: string[];

  constructor(setting: string | readonly string[] = []) {
    this.allowed = (typeof setting === "string" ? [setting] : [...setting]).flatMap((entry) =>
      entry.split(/[\s,]+/).filter((s) => s !== ""),
    );
  }

  allowHost(host: string): boolean {
    return this.allowed.includes(host);
  }

  allowIp(address: string): boolean {
    const ip = ipBytes(address);
    if (!ip) return false;
    if (!isReservedIp(ip) && !isOwnIp(ip)) return true;
    return this.allowed.some((entry) => entry.includes("/") && cidrContains(entry, ip));
  }
}
