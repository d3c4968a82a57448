import assert from "node:assert/strict";
import { test } from "node:test";
import { signActionContext, verifyActionContext } from "../../src/core/sign.js";

const SECRET = "0123456789abcdef0123456789abcdef";
const fields = { action: "approve" as const, requestId: "req-1", channelId: "c".repeat(26) };

test("a signed context verifies with the same secret", () => {
  const context = signActionContext(SECRET, fields);
  const check = verifyActionContext(SECRET, JSON.parse(JSON.stringify(context)));
  assert.equal(check.ok, true);
});

test("a context signed with another secret is refused", () => {
  const context = signActionContext("another-secret-of-enough-length", fields);
  assert.deepEqual(verifyActionContext(SECRET, context), { ok: false, reason: "bad_signature" });
});

test("changing any signed field breaks the signature", () => {
  const context = signActionContext(SECRET, fields);
  for (const tampered of [
    { ...context, action: "deny" },
    { ...context, req_id: "req-2" },
    { ...context, channel_id: "d".repeat(26) },
  ]) {
    assert.deepEqual(verifyActionContext(SECRET, tampered), { ok: false, reason: "bad_signature" });
  }
});

test("malformed and unknown-version contexts are refused without throwing", () => {
  const context = signActionContext(SECRET, fields);
  assert.deepEqual(verifyActionContext(SECRET, null), { ok: false, reason: "malformed" });
  assert.deepEqual(verifyActionContext(SECRET, "x"), { ok: false, reason: "malformed" });
  assert.deepEqual(verifyActionContext(SECRET, { ...context, action: "delete" }), {
    ok: false,
    reason: "malformed",
  });
  assert.deepEqual(verifyActionContext(SECRET, { ...context, sig: 5 }), { ok: false, reason: "malformed" });
  assert.deepEqual(verifyActionContext(SECRET, { ...context, v: 2 }), {
    ok: false,
    reason: "unknown_version",
  });
  assert.deepEqual(verifyActionContext(SECRET, { ...context, sig: "short" }), {
    ok: false,
    reason: "bad_signature",
  });
});
