/**
 * A restart after a crash (issue 12, item 7): the daemon killed with SIGKILL in the middle of a
 * burst and started again at once with the same config on the same host recognises the posting
 * claims it made before and resumes them instead of waiting for their lease to lapse. Daemons
 * with different configs on the same host stay distinct.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import { createWorld, type World } from "../../src/demo/world.js";
import { DaemonProcess, type LogLine, writeDaemonConfig } from "../support/daemon-process.js";
import { waitUntil } from "../support/fault-suite.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

const BURST = 60;
const KILL_AFTER = 20;
/** Delay on every Teleport call, so the burst is still in flight when the daemon is killed. */
const SLOW_TELEPORT_MS = 20;

let world: World;
const dirs: TempDir[] = [];
const daemons: DaemonProcess[] = [];

function start(configPath: string): DaemonProcess {
  const daemon = new DaemonProcess(["start", "-c", configPath]);
  daemons.push(daemon);
  return daemon;
}

async function config(): Promise<string> {
  const dir = await makeTempDir();
  dirs.push(dir);
  return (await writeDaemonConfig(dir, world)).configPath;
}

async function instanceId(daemon: DaemonProcess): Promise<string> {
  const line: LogLine = await daemon.waitForLog(/^Starting teleport-mattermost/, 15_000);
  return String(line["instance_id"]);
}

/** Request id → how many root posts of the bot carry it. */
function postCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const post of world.mattermost.channelPosts(world.channel.id)) {
    const id = post.props[REQUEST_ID_PROP];
    if (typeof id === "string" && !post.root_id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

before(async () => {
  world = await createWorld();
});

after(async () => {
  await Promise.allSettled(daemons.map((daemon) => daemon.stop(5_000)));
  await world?.stop();
  await Promise.allSettled(dirs.map((dir) => dir.remove()));
});

test("SIGKILL mid-burst, restart at once: its own claims are resumed, not waited out; all posted once", async () => {
  const configPath = await config();
  const first = start(configPath);
  await first.waitForLog("Watcher connected", 30_000);
  world.teleport.delayMs = SLOW_TELEPORT_MS;
  const ids = Array.from(
    { length: BURST },
    (_, i) =>
      world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: `burst ${i}` }).metadata!.name,
  );
  assert.ok(await waitUntil(() => postCounts().size >= KILL_AFTER, 60_000, 5), `${KILL_AFTER} posted`);
  first.kill("SIGKILL");
  await first.exited;
  const claimed = ids.filter((id) => world.teleport.pluginData(id, "mattermost")?.["claim"]);
  assert.ok(claimed.length > 0, "killed while holding claims");

  const second = start(configPath);
  assert.equal(await instanceId(second), await instanceId(first), "same host and config: same instance id");
  assert.ok(
    await waitUntil(
      () =>
        ids.every(
          (id) => postCounts().get(id) === 1 && !world.teleport.pluginData(id, "mattermost")?.["claim"],
        ),
      60_000,
    ),
    "every request posted and recorded",
  );
  world.teleport.delayMs = 0;
  const counts = postCounts();
  assert.deepEqual(
    ids.filter((id) => counts.get(id) !== 1),
    [],
    "each request posted exactly once",
  );
  assert.deepEqual(
    second.lines.filter((line) => line.msg === "Another instance is posting this request"),
    [],
    "no claim of its own was taken for another instance's",
  );
  const resumed = new Set(
    second.lines
      .filter((line) => line.msg === "Resuming this instance's unfinished posting of the request")
      .map((line) => line["request_id"]),
  );
  assert.deepEqual(
    claimed.filter((id) => !resumed.has(id)),
    [],
    `every claim held at the kill was resumed at once (${claimed.length} held)`,
  );
});

test("two daemons on the same host with different configs have different instance ids", async () => {
  const a = start(await config());
  const b = start(await config());
  const [idA, idB] = [await instanceId(a), await instanceId(b)];
  assert.notEqual(idA, idB);
  await Promise.all([a.stop(), b.stop()]);
});
