/**
 * A TCP port that was free on 127.0.0.1 a moment ago (for servers whose URL must be known first).
 *
 * The port is drawn below the kernel's ephemeral range: a port the kernel handed out for `port 0`
 * is soon handed out again, to another listener or as the source port of an outgoing connection,
 * so between this check and the real listen another process could take it (tests running side by
 * side hit exactly that: "port … is already in use"). Ports below the range are only ever taken
 * by someone asking for them by number.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Linux's ephemeral port range (net.ipv4.ip_local_port_range); its default low end is 32768. */
const EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";
/** Lowest port drawn: above the well-known and most registered service ports. */
const LOWEST_DRAWN_PORT = 10_000;
/** Ports tried below the ephemeral range before falling back to one the kernel picks. */
const DRAWS = 20;

export async function freePort(host = "127.0.0.1", random: () => number = Math.random): Promise<number> {
  const ephemeralLow = ephemeralRangeStart();
  if (ephemeralLow !== undefined && ephemeralLow > LOWEST_DRAWN_PORT + DRAWS) {
    for (let draw = 0; draw < DRAWS; draw++) {
      const port = LOWEST_DRAWN_PORT + Math.floor(random() * (ephemeralLow - LOWEST_DRAWN_PORT));
      if (await listensOn(host, port)) return port;
    }
  }
  return listenOnAnyPort(host);
}

function ephemeralRangeStart(): number | undefined {
  try {
    const low = Number(readFileSync(EPHEMERAL_RANGE_FILE, "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : undefined;
  } catch {
    return undefined; // not Linux: the kernel's pick is all there is
  }
}

/** True when `port` could be listened on (and was released again). */
function listensOn(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function listenOnAnyPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
