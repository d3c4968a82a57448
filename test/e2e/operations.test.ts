/**
 * What an operator (or systemd) does to a running daemon: reload it with SIGHUP.
 */
import { after, before, describe, test } from "node:test";
import { createWorld, type World } from "../../src/demo/world.js";
import { DaemonProcess, writeDaemonConfig } from "../support/daemon-process.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

describe("a running daemon", () => {
  let world: World;
  let dir: TempDir;
  let daemon: DaemonProcess;

  before(async () => {
    world = await createWorld();
    dir = await makeTempDir();
    const { configPath } = await writeDaemonConfig(dir, world);
    daemon = new DaemonProcess(["start", "-c", configPath]);
    await daemon.waitForLog("Watcher connected");
  });

  after(async () => {
    await daemon?.stop();
    await world?.stop();
    await dir?.remove();
  });

  test("SIGHUP (systemd reload) logs that reloading is not supported yet and keeps it running", async () => {
    daemon.kill("SIGHUP");
    await daemon.waitForLog("Reloading is not supported yet; restart to apply changes");
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "after HUP" });
    await world.teleport.waitFor(
      () => world.teleport.pluginData(request.metadata!.name, "mattermost")?.["messages"],
      10_000,
      "posted after SIGHUP",
    );
  });
});
