/**
 * Process lifecycle: waiting for an auth server that is not up yet, SIGHUP reloads (good and
 * bad configs), SIGTERM draining, a SIGTERM as the start ends, and a second SIGINT forcing the exit.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { DaemonProcess } from "../support/daemon-process.js";
import { openStage } from "../support/stage.js";

test("an auth server that is not reachable yet is retried with a clear log until it answers", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  await world.teleport.refuseConnections(true);
  const { daemon } = await stage.startDaemon({ waitFor: null });
  const warning = await daemon.waitForLog(/Teleport auth server is not reachable yet/);
  assert.equal(warning["addr"], world.teleport.addr);
  await world.teleport.refuseConnections(false);
  await daemon.waitForLog("Watcher connected", 30_000);
});

test("SIGHUP applies a valid new config and keeps running on an invalid one", async (t) => {
  const stage = await openStage(t);
  const { world, dir } = stage;
  const other = world.mattermost.createChannel(world.team.id, "other-requests");
  world.mattermost.addChannelMember(other.id, world.bot.user.id);
  const { daemon, port } = await stage.startDaemon();

  await stage.writeConfig({
    listenPort: port,
    replace: { channel: 'channel = "other-requests"' },
  });
  daemon.kill("SIGHUP");
  await daemon.waitForLog("Reloaded", 20_000);
  world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "after reload" });
  await world.mattermost.waitFor(
    (event) => event.type === "post_created" && event.post.channel_id === other.id,
    10_000,
  );

  await dir.write("teleport-mattermost.toml", "[teleport\nbroken");
  daemon.kill("SIGHUP");
  await daemon.waitForLog(/Reload failed; the daemon keeps running unchanged/, 10_000);
  world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "still running" });
  await world.mattermost.waitFor(
    (event) => event.type === "post_created" && JSON.stringify(event.post.props).includes("still running"),
    10_000,
  );
  assert.equal(await daemon.stop(), 0);
});

/**
 * Starts the daemon with a hook that raises `signal` when the callback server listens, the
 * start's last wait: the rest of the start and the switch to the running daemon's handling
 * follow before Node delivers it. (Node drops a signal caught while its listener is being
 * swapped for another: both cases below failed so before.)
 */
async function raiseAsStartEnds(t: TestContext, signal: "SIGTERM" | "SIGHUP"): Promise<DaemonProcess> {
  const stage = await openStage(t);
  const { configPath, port } = await stage.writeConfig();
  const hook = await stage.dir.write(
    "signal-on-listen.cjs",
    `const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once("listening", () => {
    if (this.address().port === ${port}) process.kill(process.pid, "${signal}");
  });
  return listen.apply(this, args);
};`,
  );
  const daemon = new DaemonProcess(["start", "-c", configPath], { nodeArgs: ["--require", hook] });
  t.after(() => daemon.stop());
  return daemon;
}

test("a SIGTERM that comes as the start ends stops the daemon", async (t) => {
  const daemon = await raiseAsStartEnds(t, "SIGTERM");
  const exited = await Promise.race([
    daemon.exited,
    new Promise((resolve) => setTimeout(resolve, 15_000, "still running")),
  ]);
  assert.equal(exited, 0, daemon.stderrText);
  assert.ok(daemon.messages().includes("Shutting down"), daemon.stderrText);
});

test("a SIGHUP that comes as the start ends reloads the configuration", async (t) => {
  const daemon = await raiseAsStartEnds(t, "SIGHUP");
  // Caught before the start finished, it starts again on the file; after, it restarts on it.
  await daemon.waitForLog(/^SIGHUP/);
  const starts = () => daemon.messages().filter((msg) => msg.startsWith("Starting Teleport Access")).length;
  await daemon.waitForLog(() => starts() === 2);
  assert.equal(await daemon.stop(), 0);
});

test("a second SIGINT forces the exit while shutdown waits for a hung Mattermost", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const { daemon } = await stage.startDaemon();
  world.mattermost.faults = {
    hang: true,
    times: 1_000,
    match: (request) => request.path === "/api/v4/posts",
  };
  world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "hangs" });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the create reach the hung server
  daemon.kill("SIGINT");
  await daemon.waitForLog("Shutting down");
  daemon.kill("SIGINT");
  assert.equal(await daemon.exited, 1);
  assert.ok(daemon.messages().includes("Second interrupt: exiting now"));
  world.mattermost.faults = null;
});

test("an identity file (tctl auth sign --format=file) works, and a renewed one is picked up without a restart", async (t) => {
  const stage = await openStage(t);
  const { world, dir } = stage;
  const identityFile = (files: { key: string; crt: string; cas: string }) =>
    `${files.key}ssh-ed25519-cert-v01@openssh.com AAAAC3NzaC1lZDI1NTE5 access-plugin-mattermost\n${files.crt}${files.cas}`;
  await dir.write("identity", identityFile(world.identity));
  const { daemon } = await stage.startDaemon({
    replace: {
      client_key: 'identity = "identity"\nrefresh_identity = true\nrefresh_identity_interval = "1s"',
      client_crt: "",
      root_cas: "",
    },
  });
  const renewed = await world.teleport.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
  await dir.write("identity", identityFile(renewed));
  await daemon.waitForLog(/The identity file changed/, 10_000);
  await daemon.waitForLog("Reloaded", 20_000);
  world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "after renewal" });
  await world.mattermost.waitFor(
    (event) => event.type === "post_created" && JSON.stringify(event.post.props).includes("after renewal"),
    10_000,
  );
  assert.equal(await daemon.stop(), 0);
});
