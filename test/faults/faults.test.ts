/**
 * Fault suite at test size: each scenario must end with every request posted exactly once and
 * every post showing the request's real state. Timing is reported by `npm run faults`, not
 * asserted here.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { accessLostScenario, secretRotationScenario } from "../support/fault-access.js";
import {
  clickDuringOutageScenario,
  daemonDownScenario,
  killMidBurstScenario,
  mattermostStormScenario,
  type ScenarioResult,
  TEST_SIZES,
  teleportRestartScenario,
  twoInstancesScenario,
} from "../support/fault-suite.js";
import { crashRestartScenario, upgradeScenario } from "../support/fault-suite-restart.js";

function assertConverged(result: ScenarioResult): void {
  assert.equal(result.lost, 0, `${result.scenario}: lost requests`);
  assert.equal(result.duplicates, 0, `${result.scenario}: duplicate posts`);
  assert.equal(result.stale, 0, `${result.scenario}: posts not showing the real state`);
  assert.ok(result.posted > 0);
}

test("1. requests created, approved and deleted while the daemon was down all converge", async () => {
  assertConverged(await daemonDownScenario(TEST_SIZES));
});

test("2. SIGKILL mid-burst, then restart: every request posted once", async () => {
  const result = await killMidBurstScenario(TEST_SIZES);
  assert.ok((result.postedAtKill ?? 0) < TEST_SIZES.burst, `killed mid-burst (${result.notes})`);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.burst);
});

test("3. two instances on the same servers, one killed mid-burst: every request posted once", async () => {
  const result = await twoInstancesScenario(TEST_SIZES);
  assert.ok((result.postedAtKill ?? 0) < TEST_SIZES.burst, `killed mid-burst (${result.notes})`);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.burst);
});

test("4. Teleport restarted mid-burst: all posted, watch resumed", async () => {
  const result = await teleportRestartScenario(TEST_SIZES);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.burst);
  assert.match(result.notes ?? "", /connected [2-9]\d* times/);
});

test("5. Mattermost down, then rate limited with 429s: all posted exactly once", async () => {
  const result = await mattermostStormScenario(TEST_SIZES);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.stormBurst);
});

test("6. a click while Mattermost fails: decided once in Teleport, post updated on recovery", async () => {
  const result = await clickDuringOutageScenario(TEST_SIZES);
  assertConverged(result);
  assert.equal(result.decisions, 1);
});

test("7. the bot loses the channel and gets it back: every post catches up, none doubled", async () => {
  const result = await accessLostScenario(TEST_SIZES);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.burst);
});

test("8. the secret rotated with SIGHUP: every pending post re-signed with the new secret", async () => {
  const result = await secretRotationScenario(TEST_SIZES);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.burst);
});

test("9. upgrade from the original plugin: earlier posts adopted, unreadable data replaced, all converge", async () => {
  const result = await upgradeScenario(TEST_SIZES);
  assertConverged(result);
  assert.match(result.notes ?? "", /^(\d+)\/\1 earlier posts adopted/);
});

test("10. SIGKILL mid-burst, same daemon restarted: its claims resumed, every request posted once", async () => {
  const result = await crashRestartScenario(TEST_SIZES);
  assert.ok((result.postedAtKill ?? 0) < TEST_SIZES.burst, `killed mid-burst (${result.notes})`);
  assertConverged(result);
  assert.equal(result.posted, TEST_SIZES.burst);
});
