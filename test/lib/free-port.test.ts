import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { freePort } from "../../src/lib/free-port.js";

const ephemeralLow = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
})();

test("a free port below the kernel's ephemeral range, which no port-0 listener or outgoing connection is given", async (t) => {
  if (ephemeralLow === undefined) return t.skip("no /proc/sys/net/ipv4/ip_local_port_range here");
  for (let round = 0; round < 20; round++) {
    const port = await freePort();
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} is below ${ephemeralLow}`);
  }
});

test("a drawn port that is taken is skipped for the next draw", async (t) => {
  if (ephemeralLow === undefined) return t.skip("no /proc/sys/net/ipv4/ip_local_port_range here");
  const first = await freePort();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(first, "127.0.0.1", resolve));
  t.after(() => holder.close());
  // The first draw lands on the port held above; later draws are random.
  const draws = [(first - 10_000 + 0.5) / (ephemeralLow - 10_000)];
  const port = await freePort("127.0.0.1", () => draws.shift() ?? Math.random());
  assert.equal(draws.length, 0, "the held port was drawn first");
  assert.notEqual(port, first);
  assert.ok(port >= 10_000 && port < ephemeralLow, `${port} is below ${ephemeralLow}`);
});
