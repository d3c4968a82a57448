/**
 * What this machine charges for waking up: the CPU time one loopback TCP round trip costs the
 * sender when round trips are 20 ms apart (as at 50 requests/s) and back to back. On a VM whose
 * idle cores sleep, the first is several times the second, for any program; the daemon makes a
 * few round trips per request, so this bounds what its own code can do about CPU per request
 * at low rates.
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { ownCpuMs } from "./proc.js";

/** An echo server in its own process, as the stand-ins are to the daemon. */
const ECHO_SERVER = `
const server = require("node:net").createServer((socket) => socket.on("data", (data) => socket.write(data)));
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
process.stdin.on("end", () => process.exit(0)).resume();
`;
const PAYLOAD = Buffer.alloc(1500, 0x61);

export interface RoundTripCpu {
  /** µs of this process's CPU per round trip, 20 ms apart. */
  spacedUs: number;
  /** µs per round trip, back to back. */
  backToBackUs: number;
}

export async function loopbackRoundTripCpu(): Promise<RoundTripCpu> {
  const server = spawn(process.execPath, ["-e", ECHO_SERVER], { stdio: ["pipe", "pipe", "ignore"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      server.once("error", reject);
    });
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once("connect", resolve));
    try {
      await roundTrips(socket, 50, 0); // warm-up
      return { spacedUs: await roundTrips(socket, 100, 20), backToBackUs: await roundTrips(socket, 1000, 0) };
    } finally {
      socket.destroy();
    }
  } finally {
    server.stdin.end();
  }
}

async function roundTrips(socket: Socket, count: number, gapMs: number): Promise<number> {
  const before = ownCpuMs();
  for (let i = 0; i < count; i++) {
    if (gapMs > 0) await sleep(gapMs);
    await new Promise<void>((resolve) => {
      let received = 0;
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (received < PAYLOAD.length) return;
        socket.off("data", onData);
        resolve();
      };
      socket.on("data", onData);
      socket.write(PAYLOAD);
    });
  }
  return ((ownCpuMs() - before) * 1000) / count;
}
