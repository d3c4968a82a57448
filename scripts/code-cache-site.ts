/**
 * The build's warm-up site for V8's code cache (scripts/build.mjs, src/cli/loader.ts): Teleport
 * and Mattermost stand-ins on loopback with a few pending requests, and a daemon config for them
 * in a temporary folder. Prints `{"config": <path>}` on one line once ready; stops and removes
 * everything when its stdin closes.
 */
import { createWorld } from "../src/demo/world.js";
import { writeServiceConfig } from "../test/support/daemon-process.js";
import { makeTempDir } from "../test/support/temp-dir.js";

/** Requests the warm-up start posts: each part of catching up runs a few times. */
const PENDING_REQUESTS = 3;

const world = await createWorld();
const dir = await makeTempDir("teleport-mattermost-code-cache-");
const stop = async () => {
  await world.stop();
  await dir.remove();
};
try {
  // An operator's certificate for the callback, as most set-ups have: none made at start.
  const { configPath } = await writeServiceConfig(dir, world);
  for (let i = 0; i < PENDING_REQUESTS; i++) {
    world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "code cache warm-up" });
  }
  process.stdout.write(`${JSON.stringify({ config: configPath })}\n`);
} catch (error) {
  await stop();
  throw error;
}
process.stdin.resume();
process.stdin.on("end", () => void stop().then(() => process.exit(0)));
