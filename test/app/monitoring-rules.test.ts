/**
 * The daemon's live copy of the access monitoring rules (src/app/monitoring-rules.ts) against a
 * real Teleport stand-in over mTLS: rules changed while the watch was down count once it is back
 * (listed again on INIT), a request waits for the first listing, and a role that may not read
 * users makes trait conditions see no traits, with one warning.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import pino from "pino";
import { MonitoringRuleRouting } from "../../src/app/monitoring-rules.js";
import { systemClock } from "../../src/lib/clock.js";
import { TeleportStandin, type TeleportStandinOptions } from "../../src/standins/teleport/index.js";
import { TeleportClient } from "../../src/teleport/client.js";
import { sampleRequest } from "../support/access-request.js";

const request = sampleRequest({ roles: ["dba"] });

function rule(name: string, condition: string, recipients: string[]) {
  return {
    metadata: { name },
    spec: { subjects: ["access_request"], condition, notification: { name: "mattermost", recipients } },
  };
}

async function routing(t: TestContext, options: TeleportStandinOptions & { pluginRoles?: string[] } = {}) {
  const standin = await TeleportStandin.start({ version: "18.0.0", expiryIntervalMs: 0, ...options });
  t.after(() => standin.stop());
  const identity = await standin.issueIdentity("plugin", options.pluginRoles ?? ["access-plugin"]);
  const teleport = new TeleportClient({
    addr: standin.addr,
    identity: { cert: identity.crt, key: identity.key, cas: identity.cas },
  });
  t.after(() => teleport.close());
  const lines: Array<{ msg: string; [key: string]: unknown }> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const rules = new MonitoringRuleRouting({
    teleport: () => teleport,
    pluginName: "mattermost",
    clock: systemClock,
    logger,
  });
  const abort = new AbortController();
  const done = rules.run(abort.signal);
  t.after(async () => {
    abort.abort();
    await done;
  });
  return { standin, rules, lines };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a request asked about at start waits for the first listing", async (t) => {
  // Every answer comes 300 ms late: the first listing too.
  const { standin, rules } = await routing(t, { delayMs: 300 });
  standin.createMonitoringRule(rule("dba", 'access_request.spec.roles.contains("dba")', ["acme/dba"]));
  // Not routed by the config meanwhile: the answer waits for the rules.
  assert.deepEqual(await rules.recipientsFor(request), ["acme/dba"]);
});

test("rules changed while the watch was down count once it reconnects", async (t) => {
  const { standin, rules, lines } = await routing(t);
  standin.createMonitoringRule(rule("dba", 'access_request.spec.roles.contains("dba")', ["acme/dba"]));
  await until(async () => (await rules.recipientsFor(request)).length === 1, "the rule");
  await until(() => standin.activeWatchCount === 1, "the rules' watch");

  // The watch drops; while it is down the rule changes (no event reaches the daemon).
  await standin.refuseConnections(true, { dropExisting: true });
  standin.updateMonitoringRule(rule("dba", 'access_request.spec.roles.contains("dba")', ["acme/dba-oncall"]));
  await standin.refuseConnections(false);
  await until(
    async () => (await rules.recipientsFor(request))[0] === "acme/dba-oncall",
    "the change after reconnecting",
  );
  assert.ok(lines.some((line) => /Retrying|Reconnecting/.test(line.msg)));
});

test("without `read` on users, trait conditions see no traits, said once", async (t) => {
  const { standin, rules, lines } = await routing(t, {
    roles: {
      "no-users": { accessRequest: ["list", "read", "update"], accessMonitoringRule: ["list", "read"] },
    },
    pluginRoles: ["no-users"],
  });
  standin.addUser("alice", ["access"], { team: ["storage"] });
  standin.createMonitoringRule(
    rule("team", 'contains_any(user.traits["team"], set("storage"))', ["acme/storage"]),
  );
  standin.createMonitoringRule(rule("no-team", 'is_empty(user.traits["team"])', ["acme/unknown-team"]));
  await until(async () => (await rules.recipientsFor(request)).length > 0, "the rules");
  assert.deepEqual(await rules.recipientsFor(request), ["acme/unknown-team"]);
  assert.equal(lines.filter((line) => /may not read users/.test(line.msg)).length, 1);
});
