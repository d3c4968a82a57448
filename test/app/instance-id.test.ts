import assert from "node:assert/strict";
import { test } from "node:test";
import { stableInstanceId } from "../../src/app/instance-id.js";

const facts = {
  hostname: "plugins-1.example.com",
  configPath: "/etc/teleport-mattermost.toml",
  listenAddr: ":8081",
};

test("the same host, config file and listen address give the same id, every time", () => {
  assert.equal(stableInstanceId(facts), stableInstanceId({ ...facts }));
  assert.match(stableInstanceId(facts), /^plugins-1-[A-Za-z0-9_-]{16}$/);
});

test("another config file, listen address or host gives another id", () => {
  const ids = new Set([
    stableInstanceId(facts),
    stableInstanceId({ ...facts, configPath: "/etc/teleport-mattermost-staging.toml" }),
    stableInstanceId({ ...facts, listenAddr: ":8082" }),
    stableInstanceId({ ...facts, hostname: "plugins-2.example.com" }),
  ]);
  assert.equal(ids.size, 4);
});

test("odd host names stay short and never carry the claim separator", () => {
  const id = stableInstanceId({ ...facts, hostname: `a@b${"x".repeat(300)}` });
  assert.ok(!id.includes("@"));
  assert.ok(id.length <= 32 + 1 + 16);
  assert.match(stableInstanceId({ ...facts, hostname: "" }), /^host-/);
});
