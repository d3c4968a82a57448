/**
 * Keepalive pings against Teleport's ping policy (src/standins/teleport/ping-policy.ts): from 4.4
 * the auth server closes a connection whose client pings more often than its 60 s minimum while
 * it sends nothing, which is what a watch on a quiet cluster looks like. Real client, real
 * stand-in, mutual TLS; times are scaled down by SCALE so a test lasts a second or two.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { TeleportStandin, type TeleportVersion } from "../../src/standins/teleport/index.js";
import { TELEPORT_PING_MIN_TIME_MS } from "../../src/standins/teleport/ping-policy.js";
import { KEEPALIVE_TIME_MS, TeleportClient } from "../../src/teleport/client.js";
import { watchInBackground } from "../support/background-watch.js";

/** Real intervals divided by this: Teleport's 60 s minimum becomes 60 ms. */
const SCALE = 1000;
const TEST_TIMEOUT_MS = 30_000;

interface QuietWatch {
  standin: TeleportStandin;
  /** Why the watch ended, once it did. */
  failure: () => unknown;
}

/** A watch on a stand-in where nothing happens, the client pinging every `keepaliveMs`. */
async function quietWatch(
  t: TestContext,
  version: TeleportVersion,
  keepaliveMs: number,
): Promise<QuietWatch> {
  const standin = await TeleportStandin.start({
    version,
    ...(version === "4.2.8" ? {} : { pingMinTimeMs: TELEPORT_PING_MIN_TIME_MS / SCALE }),
  });
  t.after(() => standin.stop());
  const files = await standin.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
  const client = new TeleportClient({
    addr: standin.addr,
    identity: { cert: files.crt, key: files.key, cas: files.cas },
    // The answer timeout is not part of the policy: unscaled, so a busy machine cannot fail a ping.
    keepalive: { timeMs: keepaliveMs, timeoutMs: 10_000 },
  });
  t.after(() => client.close());
  const failure = watchInBackground(t, client);
  return { standin, failure };
}

/** Waits until `count` pings reached the stand-in or the watch failed. */
async function untilPings(watch: QuietWatch, count: number): Promise<void> {
  const started = Date.now();
  while (watch.standin.pingPolicy.pings < count && watch.failure() === undefined) {
    if (Date.now() - started > TEST_TIMEOUT_MS / 2)
      throw new Error(`only ${watch.standin.pingPolicy.pings} pings`);
    await sleep(10);
  }
}

test("Teleport 6.2 closes a quiet connection whose client pings more often than its minimum", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const watch = await quietWatch(t, "6.2.1", TELEPORT_PING_MIN_TIME_MS / SCALE / 3);
  await untilPings(watch, 12);
  assert.ok(watch.failure() !== undefined, "the watch should have been closed for pinging too often");
  assert.equal(watch.standin.pingPolicy.goaways, 1);
});

test("Teleport 4.2 answers pings at any rate", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const watch = await quietWatch(t, "4.2.8", 20);
  await untilPings(watch, 12);
  assert.equal(watch.failure(), undefined);
  assert.equal(watch.standin.pingPolicy.goaways, 0);
});

for (const version of ["6.2.1", "18.0.0"] as const) {
  test(`a quiet watch outlives many keepalive pings at the client's interval against Teleport ${version}`, {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const watch = await quietWatch(t, version, KEEPALIVE_TIME_MS / SCALE);
    await untilPings(watch, 8);
    assert.equal(watch.failure(), undefined, "the watch was closed");
    assert.equal(watch.standin.pingPolicy.goaways, 0);
  });
}
