import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeRecord,
  EMPTY_RECORD,
  encodeRecord,
  formatClaim,
  keptResources,
  type PluginRecord,
  parseClaim,
} from "../../src/core/plugin-data.js";

test("a record survives encode → decode", () => {
  const record: PluginRecord = {
    posts: [
      { channelId: "a".repeat(26), postId: "b".repeat(26) },
      { channelId: "c".repeat(26), postId: "d".repeat(26) },
    ],
    rendered: "APPROVED",
    renderHash: "abc",
    reviewsRelayed: 2,
    notified: "APPROVED",
    reminders: 3,
    claim: formatClaim("instance-1", 1234),
    user: "alice",
    roles: ["editor", "dba"],
    reason: "deploy, now",
    resources: {
      shown: [
        { cluster: "teleport.example.com", kind: "node", name: "web-1", subResource: "" },
        { cluster: "teleport.example.com", kind: "namespace", name: "prod", subResource: "default" },
      ],
      total: 27,
    },
    decidedBy: "bob",
    decisionReason: "ok",
    decisionLock: formatClaim("nonce-1", 5678),
    lagging: ["c".repeat(26)],
    unposted: ["acme/security", "carol@example.com"],
    keyId: "k1a2b3c4",
  };
  assert.deepEqual(decodeRecord(encodeRecord(record)), record);
});

test("no data decodes to the empty record, whose encoding expects every key absent", () => {
  assert.deepEqual(decodeRecord(undefined), EMPTY_RECORD);
  assert.ok(Object.values(encodeRecord(EMPTY_RECORD)).every((value) => value === ""));
});

test("the seed plugin's post_id/channel_id keys are read", () => {
  const record = decodeRecord({ post_id: "p".repeat(26), channel_id: "c".repeat(26), user: "alice" });
  assert.deepEqual(record.posts, [{ channelId: "c".repeat(26), postId: "p".repeat(26) }]);
});

test("claims parse back, junk does not", () => {
  assert.deepEqual(parseClaim(formatClaim("a@b", 99)), { instanceId: "a@b", leaseEndsAt: 99 });
  assert.equal(parseClaim(""), undefined);
  assert.equal(parseClaim("x@notanumber"), undefined);
});

test("a resource request keeps its first resources and the total; a role request stores nothing", () => {
  const many = Array.from({ length: 25 }, (_, i) => ({
    cluster: "c",
    kind: "node",
    name: `web-${i}`,
    subResource: "",
  }));
  const kept = keptResources(many);
  assert.equal(kept.total, 25);
  assert.equal(kept.shown.length, 10);
  const stored = encodeRecord({ ...EMPTY_RECORD, resources: kept });
  assert.deepEqual(decodeRecord(stored).resources, kept);
  assert.equal(encodeRecord({ ...EMPTY_RECORD, resources: keptResources([]) })["resources"], "");
  assert.deepEqual(decodeRecord({ resources: "not json" }).resources, { shown: [], total: 0 });
});
