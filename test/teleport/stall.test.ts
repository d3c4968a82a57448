/**
 * A connection to the auth server that stops answering without closing (stall-check.ts): the
 * client notices while its calls wait, drops it and connects again, instead of leaving every call
 * to its deadline until keepalive gives up (up to 100 s). Real client, real stand-in behind a TCP
 * relay that turns its connections into a black hole; the StallCheck rules with a fake clock.
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../src/errors.js";
import { TeleportStandin } from "../../src/standins/teleport/index.js";
import { TeleportClient } from "../../src/teleport/client.js";
import { PROBE_TIMEOUT_MS, type ProbeResult, STALL_MS, StallCheck } from "../../src/teleport/stall-check.js";
import { watchInBackground } from "../support/background-watch.js";
import { TcpRelay } from "../support/tcp-relay.js";

const TEST_TIMEOUT_MS = 60_000;

/**
 * A 6.2 stand-in and a client recording stall warnings; the client reaches the address `addrOf`
 * gives for the stand-in (default the stand-in itself).
 */
async function stallClient(
  t: TestContext,
  addrOf: (standin: TeleportStandin) => string | Promise<string> = (standin) => standin.addr,
) {
  const standin = await TeleportStandin.start({ version: "6.2.1" });
  t.after(() => standin.stop());
  const files = await standin.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
  const stalls: number[] = [];
  const client = new TeleportClient({
    addr: await addrOf(standin),
    identity: { cert: files.crt, key: files.key, cas: files.cas },
    onStall: (waitedMs) => stalls.push(waitedMs),
  });
  t.after(() => client.close());
  return { standin, client, stalls };
}

test("calls on a connection gone silent fail over to a new connection long before keepalive would", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  let relay!: TcpRelay;
  const { client, stalls } = await stallClient(t, async (standin) => {
    relay = await TcpRelay.start(standin.port);
    t.after(() => relay.stop());
    return relay.addr;
  });
  const watchFailure = watchInBackground(t, client);
  await client.ping();
  assert.equal(relay.accepted, 1);

  relay.freeze();
  // The call sent into the black hole, then calls retried the way the daemon retries them.
  const started = performance.now();
  let answered = false;
  const failures: string[] = [];
  while (!answered && performance.now() - started < 40_000) {
    try {
      await client.listRequests();
      answered = true;
    } catch (error) {
      failures.push(String(error));
      await sleep(200);
    }
  }
  assert.ok(answered, `no answer within 40 s: ${failures.join("; ")}`);
  assert.equal(stalls.length, 1, "the silent connection was dropped once");
  assert.ok((stalls[0] ?? 0) >= STALL_MS, `dropped after ${stalls[0]} ms of silence`);
  assert.equal(relay.accepted, 3, "one connection for the probe's Ping, then the new one for the calls");
  assert.ok(
    failures.every((failure) => !/Deadline exceeded/i.test(failure)),
    failures.join("; "),
  );
  await waitFor(() => watchFailure() !== undefined);
});

test("a Teleport slow to answer everything, Ping included, keeps its connection", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client, stalls } = await stallClient(t);
  await client.ping();
  // Longer than a stall and its probe, shorter than the calls' 10 s deadline.
  standin.delayMs = STALL_MS + PROBE_TIMEOUT_MS + 2_000;
  const answers = await Promise.all([client.listRequests(), client.ping(), client.listRequests()]);
  assert.equal(answers.length, 3);
  assert.deepEqual(stalls, [], "a slow connection is not a dead one");
});

test("a server that never completes a handshake is not reported as a stalled connection", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const silent = createServer((socket) => socket.on("error", () => {}));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.after(() => silent.close());
  const sockets: Socket[] = [];
  silent.on("connection", (socket) => sockets.push(socket));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
  });
  const { client, stalls } = await stallClient(
    t,
    () => `127.0.0.1:${(silent.address() as { port: number }).port}`,
  );
  await assert.rejects(client.ping(STALL_MS + 4_000));
  assert.deepEqual(stalls, [], "nothing was open to drop");
});

test("a call after the client closed fails at once, and nothing fires later", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { client, stalls } = await stallClient(t);
  await client.ping();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  t.after(() => process.off("unhandledRejection", onUnhandled));
  client.close();
  await assert.rejects(client.ping(), AppError);
  await assert.rejects(client.listRequests(), AppError);
  await sleep(STALL_MS + 2_000);
  assert.deepEqual(unhandled, []);
  assert.deepEqual(stalls, []);
});

async function waitFor(condition: () => boolean): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 10_000) throw new Error("condition not met within 10 s");
    await sleep(20);
  }
}

/** A StallCheck on a fake clock whose probes end as `current` and `fresh` say. */
function fakeStallCheck(current: ProbeResult, fresh: ProbeResult = "answered") {
  let now = 0;
  const drops: number[] = [];
  let probes = 0;
  const check = new StallCheck({
    probe: async () => {
      probes++;
      return { current, fresh, dropSuspects: () => 1 };
    },
    dropped: (waitedMs) => drops.push(waitedMs),
    now: () => now,
    checkIntervalMs: 5,
  });
  return {
    check,
    drops,
    probes: () => probes,
    /** Moves the clock and lets the interval run a check. */
    async advance(ms: number) {
      now += ms;
      await sleep(20);
    },
  };
}

test("a long call on a connection that answers its Ping is left alone", async () => {
  const fake = fakeStallCheck("answered");
  fake.check.callStarted();
  await fake.advance(STALL_MS - 1);
  assert.equal(fake.probes(), 0, "no Ping before STALL_MS");
  await fake.advance(1);
  assert.equal(fake.probes(), 1);
  await fake.advance(STALL_MS - 1);
  assert.equal(fake.probes(), 1, "the Ping's answer counts as the connection answering");
  fake.check.callEnded(true);
  await fake.advance(STALL_MS * 3);
  assert.equal(fake.probes(), 1, "nothing is checked once no call waits");
  assert.deepEqual(fake.drops, []);
  fake.check.close();
});

test("answers to other calls and a listing's messages keep a waiting call's connection above suspicion", async () => {
  const fake = fakeStallCheck("no answer");
  fake.check.callStarted();
  for (let i = 0; i < 3; i++) {
    fake.check.callStarted();
    await fake.advance(STALL_MS - 1);
    fake.check.callEnded(true);
  }
  for (let i = 0; i < 3; i++) {
    await fake.advance(STALL_MS - 1);
    fake.check.progress();
  }
  assert.equal(fake.probes(), 0);
  fake.check.close();
});

test("a connection silent while a new one answers is dropped once, then given time to reconnect", async () => {
  const fake = fakeStallCheck("no answer", "answered");
  fake.check.callStarted();
  fake.check.callStarted();
  fake.check.callEnded(false); // one ran out of time: not an answer
  await fake.advance(STALL_MS);
  assert.deepEqual(fake.drops, [STALL_MS]);
  await fake.advance(STALL_MS - 1);
  assert.equal(fake.drops.length, 1, "the new connection gets STALL_MS of its own");
  fake.check.close();
});

test("when a new connection gets no answer either, Teleport is slow or away: nothing is dropped", async () => {
  const fake = fakeStallCheck("no answer", "no answer");
  fake.check.callStarted();
  await fake.advance(STALL_MS);
  await fake.advance(STALL_MS);
  assert.equal(fake.probes(), 2);
  assert.deepEqual(fake.drops, []);
  fake.check.close();
});

test("after close nothing is counted, checked or dropped", async () => {
  const fake = fakeStallCheck("no answer", "answered");
  fake.check.close();
  fake.check.callStarted();
  await fake.advance(STALL_MS * 2);
  assert.equal(fake.probes(), 0);
  assert.deepEqual(fake.drops, []);
});
