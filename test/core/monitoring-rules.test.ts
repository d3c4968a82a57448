/**
 * Which access monitoring rules count for the plugin and where they send a request
 * (src/core/monitoring-rules.ts), as Teleport's RuleHandler decides it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { conditionEnv, type MonitoringRule, MonitoringRuleSet } from "../../src/core/monitoring-rules.js";
import { sampleRequest } from "../support/access-request.js";

const request = sampleRequest({ roles: ["dba"] });

function rule(name: string, condition: string, recipients: string[], extra: Partial<MonitoringRule> = {}) {
  return {
    name,
    subjects: ["access_request"],
    condition,
    notificationName: "mattermost",
    recipients,
    unknownFields: [],
    ...extra,
  };
}

test("matching rules' recipients, each once, rules in name order; no match routes by config", () => {
  const rules = new MonitoringRuleSet("mattermost");
  rules.replaceAll([
    rule("b-dba", 'access_request.spec.roles.contains("dba")', ["acme/dba", "carol@example.com"]),
    rule("a-all", "true", ["acme/all", "acme/dba"]),
    rule("c-ops", 'access_request.spec.roles.contains("ops")', ["acme/ops"]),
  ]);
  assert.deepEqual(rules.match(conditionEnv(request, {})), {
    recipients: ["acme/all", "acme/dba", "carol@example.com"],
    rules: ["a-all", "b-dba"],
  });
  rules.delete("a-all");
  rules.delete("b-dba");
  assert.deepEqual(rules.match(conditionEnv(request, {})), { recipients: [], rules: [] });
});

test("only rules for this plugin about access requests count", () => {
  const rules = new MonitoringRuleSet("mattermost");
  const updates = rules.replaceAll([
    rule("slack", "true", ["#x"], { notificationName: "slack" }),
    rule("other-subject", "true", ["acme/x"], { subjects: ["user"] }),
    rule("mine", "true", ["acme/mine"]),
  ]);
  assert.deepEqual(
    updates.map((update) => [update.rule.name, update.kind]),
    [
      ["slack", "ignored"],
      ["other-subject", "ignored"],
      ["mine", "active"],
    ],
  );
  assert.deepEqual(rules.match(conditionEnv(request, {})).recipients, ["acme/mine"]);
  // A rule changed to another plugin stops counting.
  rules.put(rule("mine", "true", ["acme/mine"], { notificationName: "slack" }));
  assert.equal(rules.size, 0);
});

test("a rule whose condition cannot be used is skipped and reported; the others still route", () => {
  const rules = new MonitoringRuleSet("mattermost");
  const updates = rules.replaceAll([
    rule("labels", 'access_request.spec.resource_labels_union["env"].contains("prod")', ["acme/prod"]),
    rule("fine", "true", ["acme/fine"]),
  ]);
  const unusable = updates.find((update) => update.kind === "unusable");
  assert.match(unusable?.kind === "unusable" ? unusable.error.message : "", /unknown identifier/);
  assert.deepEqual(rules.match(conditionEnv(request, {})).recipients, ["acme/fine"]);
});

test("traits are asked for only when a rule reads them", () => {
  const rules = new MonitoringRuleSet("mattermost");
  rules.put(rule("roles", 'access_request.spec.roles.contains("dba")', ["a/b"]));
  assert.equal(rules.needsTraits(), false);
  rules.put(rule("team", 'user.traits["team"].contains("sre")', ["a/sre"]));
  assert.equal(rules.needsTraits(), true);
  assert.deepEqual(rules.match(conditionEnv(request, { team: ["sre"] })).rules, ["roles", "team"]);
  assert.deepEqual(rules.match(conditionEnv(request, {})).rules, ["roles"]);
});

test("a resource request's resource count is visible to conditions", () => {
  const rules = new MonitoringRuleSet("mattermost");
  rules.put(rule("resources", "!(access_request.spec.requested_resources.length == 0)", ["a/res"]));
  const resourceRequest = {
    ...request,
    resources: [{ cluster: "c", kind: "node", name: "web", subResource: "" }],
  };
  assert.deepEqual(rules.match(conditionEnv(resourceRequest, {})).recipients, ["a/res"]);
  assert.deepEqual(rules.match(conditionEnv(request, {})).recipients, []);
});
