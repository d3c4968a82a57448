import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeRecord,
  EMPTY_RECORD,
  encodeRecord,
  expectRecord,
  formatClaim,
  keptResources,
  type PluginRecord,
  packRecord,
  packStored,
  parseClaim,
  readStored,
  rewriteRecord,
  unpackRecord,
} from "../../src/core/plugin-data.js";

const CHANNEL = "c".repeat(26);
const POST = "p".repeat(26);

test("a record survives encode → decode", () => {
  const record: PluginRecord = {
    posts: [
      { channelId: "a".repeat(26), postId: "b".repeat(26) },
      { channelId: "c".repeat(26), postId: "d".repeat(26) },
    ],
    rendered: "APPROVED",
    renderHash: "abcdefghijklmnopqrstuv",
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
  // Packed for the cache of records: the same record back, in fewer bytes than its encoding.
  const packed = packRecord(record);
  assert.deepEqual(unpackRecord(packed), record);
  assert.ok(packed.length < JSON.stringify(encodeRecord(record)).length);
  assert.deepEqual(unpackRecord(packRecord(EMPTY_RECORD)), EMPTY_RECORD);
  // Whatever this daemon writes reads back as its own: never rewritten, never warned about.
  const signed = { ...record, renderHash: `${record.renderHash}:5699fa97`, keyId: "5699fa97" };
  assert.equal(readStored(encodeRecord(signed)).current, true);
  // A current entry is packed as read (catch-up primes the cache so): the same as packing the record.
  assert.equal(packStored(readStored(encodeRecord(signed))), packRecord(signed));
  assert.equal(packStored(readStored(undefined)), packRecord(EMPTY_RECORD));
  // One that is not current is packed from what was read of it.
  const seed = readStored({ post_id: POST, channel_id: CHANNEL });
  assert.equal(seed.current, false);
  assert.equal(packStored(seed), packRecord(seed.record));
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

test("what this daemon writes reads back as current: no rewrite needed", () => {
  const stored = readStored(
    encodeRecord({ ...EMPTY_RECORD, posts: [{ channelId: CHANNEL, postId: POST }], rendered: "PENDING" }),
  );
  assert.equal(stored.current, true);
  assert.equal(stored.foreignPosts, false);
  assert.deepEqual(stored.unreadable, {});
  assert.equal(readStored(undefined).current, true);
});

test("a 0.1.0 record is a foreign post to adopt, and its rewrite expects it exactly as read", () => {
  const raw = { user: "alice", roles: "editor", post_id: POST, channel_id: CHANNEL };
  const stored = readStored(raw);
  assert.equal(stored.current, false);
  assert.equal(stored.foreignPosts, true);
  assert.deepEqual(stored.record.posts, [{ channelId: CHANNEL, postId: POST }]);
  assert.deepEqual(stored.record.roles, ["editor"]);
  const { set, expect } = rewriteRecord(stored, stored.record);
  // Every key read is expected as read (the old code expected `messages` = the post: never true).
  for (const [key, value] of Object.entries(raw)) assert.equal(expect[key], value);
  assert.equal(expect["messages"], "");
  assert.equal(set["messages"], `${CHANNEL}/${POST}`);
  assert.equal(set["post_id"], "", "the seed keys are removed once translated");
  assert.equal(set["channel_id"], "");
});

test("a 6.x+ record: its posts are foreign until rendered by us; reviews and resolution carry over", () => {
  const stored = readStored({
    user: "alice",
    roles: "editor,dba",
    request_reason: "deploy",
    messages: `${CHANNEL}/${POST}`,
    reviews_count: "2",
    resolution: "APPROVED",
    resolve_reason: "ok",
  });
  assert.equal(stored.foreignPosts, true);
  assert.equal(stored.current, false);
  assert.equal(stored.record.reviewsRelayed, 2);
  assert.equal(stored.record.rendered, "APPROVED");
  assert.equal(stored.record.renderHash, "");
});

test("unreadable values are reported with the value, never read as posts", () => {
  for (const messages of ["garbage{]", '{"x":"a/b"}', "a/b", `${CHANNEL}/${POST}/x`]) {
    const stored = readStored({ messages, user: "alice" });
    assert.deepEqual(stored.record.posts, [], messages);
    assert.equal(stored.unreadable["messages"], messages);
    assert.equal(stored.current, false);
  }
  const mixed = readStored({ messages: `${CHANNEL}/${POST},junk`, rendered: "PENDING" });
  assert.deepEqual(mixed.record.posts, [{ channelId: CHANNEL, postId: POST }]);
  assert.ok("messages" in mixed.unreadable);
  const damaged = readStored({
    rendered: "MAYBE",
    reviews_relayed: "-1",
    reminders: "x",
    claim: "nobody",
    render_hash: "?",
    decision_lock: "@",
  });
  assert.deepEqual(Object.keys(damaged.unreadable).sort(), [
    "claim",
    "decision_lock",
    "reminders",
    "render_hash",
    "rendered",
    "reviews_relayed",
  ]);
  assert.equal(damaged.record.claim, "");
  assert.equal(damaged.record.rendered, "");
  assert.equal(readStored({ messages: "x".repeat(1000) }).unreadable["messages"]?.length, 81);
});

test("the expectation of a record of ours also expects no seed-plugin post", () => {
  const expect = expectRecord(EMPTY_RECORD);
  assert.equal(expect["post_id"], "");
  assert.equal(expect["channel_id"], "");
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
  assert.equal(readStored({ resources: "not json" }).unreadable["resources"], "not json");
  assert.equal(readStored({ resources: '{"total":3}' }).current, false);
});

test("a request with no plugin data reads as EMPTY_RECORD (a new request is presumed to have that)", () => {
  assert.deepEqual(decodeRecord(undefined), EMPTY_RECORD);
  assert.deepEqual(decodeRecord({}), EMPTY_RECORD);
});
