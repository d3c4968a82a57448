/**
 * Fault scenarios of issue "Nothing stuck, every post true", items 3 and 4, at any size: the bot
 * loses its channel and gets it back; the button secret is rotated with SIGHUP. Like the other
 * scenarios (fault-suite.ts) they run the built daemon as a child process against the stand-ins
 * and report what they saw; the convergence time counts from the moment the fault is repaired.
 */
import { decodeRecord } from "../../src/core/plugin-data.js";
import { TEST_SECRET } from "./daemon-process.js";
import { FaultStage, type ScenarioResult, type Sizes, waitUntil } from "./fault-suite.js";

const ROTATED_SECRET = "rotated-secret-0123456789abcdef0123456789";

/**
 * 7. The bot is removed from the channel: half the burst is posted before, a quarter of those
 * approved and the other half created while it is out (for as long as scenario 5's outage).
 * Added back → every post catches up.
 */
export async function accessLostScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const daemon = await stage.startDaemon();
    const { world, ledger } = stage;
    const half = Math.floor(sizes.burst / 2);
    const before = ledger.create(half, "before");
    await waitUntil(() => ledger.converged(), sizes.timeoutMs);
    world.mattermost.removeChannelMember(world.channel.id, world.bot.user.id);
    const approved = before.slice(0, Math.max(1, Math.floor(half / 4)));
    for (const id of approved) ledger.approve(id, true);
    const meanwhile = ledger.create(sizes.burst - half, "meanwhile");
    // Every request meets the closed channel before it opens again: the records say so.
    const record = (id: string) => decodeRecord(world.teleport.pluginData(id, "mattermost"));
    await waitUntil(
      () =>
        meanwhile.every((id) => record(id).unposted.length > 0) &&
        approved.every((id) => record(id).lagging.length > 0),
      sizes.timeoutMs,
    );
    // Out as long as Mattermost is down in scenario 5, so that retries have backed off to their cap.
    await new Promise((resolve) => setTimeout(resolve, sizes.mattermostDownMs));
    const refused = daemon.lines.filter((line) => String(line.msg).startsWith("Cannot ")).length;
    const startedAt = Date.now();
    world.mattermost.addChannelMember(world.channel.id, world.bot.user.id);
    const result = await stage.converge("7 bot lost the channel, got it back", startedAt, sizes.timeoutMs);
    return {
      ...result,
      notes: `${approved.length} approved and ${sizes.burst - half} created while out; ${refused} warning line(s)`,
    };
  } finally {
    await stage.close();
  }
}

/** 8. Every request pending and posted; the secret is changed and SIGHUP sent → all re-signed. */
export async function secretRotationScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const { ledger } = stage;
    const dir = await stage.tempDir();
    const { daemon, port } = await stage.startDaemonWith({ dir });
    ledger.secret = TEST_SECRET;
    ledger.create(sizes.burst, "rotate");
    await waitUntil(() => ledger.converged(), sizes.timeoutMs);
    await stage.writeConfig({ listenPort: port, replace: { secret: `secret = "${ROTATED_SECRET}"` } }, dir);
    // From here a post still signed with the old secret is stale: its buttons refuse every click.
    ledger.secret = ROTATED_SECRET;
    const startedAt = Date.now();
    daemon.kill("SIGHUP");
    const result = await stage.converge("8 secret rotated (SIGHUP)", startedAt, sizes.timeoutMs);
    return { ...result, notes: `${sizes.burst} pending posts re-signed` };
  } finally {
    await stage.close();
  }
}
