import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DIALOG_STATE_TTL_MS,
  keyIdOf,
  signActionContext,
  signDialogState,
  triggerIdUser,
  verifyActionContext,
  verifyDialogState,
} from "../../src/core/sign.js";

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

describe("dialog state", () => {
  const NOW = Date.parse("2026-11-25T12:00:00Z");
  const dialog = {
    action: "deny" as const,
    requestId: "req-1",
    postId: "p".repeat(26),
    channelId: "c".repeat(26),
    userId: "u".repeat(26),
    nonce: "n-1",
  };

  test("verifies within its lifetime and names request, action, post, channel, user and nonce", () => {
    const state = signDialogState(SECRET, dialog, NOW);
    const check = verifyDialogState(SECRET, state, NOW + DIALOG_STATE_TTL_MS);
    assert.ok(check.ok);
    assert.deepEqual(
      [
        check.state.req_id,
        check.state.action,
        check.state.post_id,
        check.state.channel_id,
        check.state.user_id,
        check.state.nonce,
      ],
      ["req-1", "deny", "p".repeat(26), "c".repeat(26), "u".repeat(26), "n-1"],
    );
  });

  test("expires", () => {
    const state = signDialogState(SECRET, dialog, NOW);
    assert.deepEqual(verifyDialogState(SECRET, state, NOW + DIALOG_STATE_TTL_MS + 1), {
      ok: false,
      reason: "expired",
    });
  });

  test("any change to the payload, another key or a button signature used as state is refused", () => {
    const state = signDialogState(SECRET, dialog, NOW);
    const [payload, sig] = state.split(".") as [string, string];
    const decoded = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    for (const change of [
      { user_id: "x".repeat(26) },
      { action: "approve" },
      { exp: NOW * 2 },
      { req_id: "req-2" },
    ]) {
      const forged = `${Buffer.from(JSON.stringify({ ...decoded, ...change })).toString("base64url")}.${sig}`;
      assert.deepEqual(verifyDialogState(SECRET, forged, NOW), { ok: false, reason: "bad_signature" });
    }
    assert.deepEqual(verifyDialogState("another-secret-of-enough-length", state, NOW), {
      ok: false,
      reason: "bad_signature",
    });
    const button = signActionContext(SECRET, fields);
    assert.equal(verifyDialogState(SECRET, `${payload}.${button.sig}`, NOW).ok, false);
    for (const junk of [undefined, 5, "", "a.b.c", "x".repeat(5000), `${payload}.`]) {
      assert.equal(verifyDialogState(SECRET, junk, NOW).ok, false);
    }
  });

  test("the trigger id's user is read from Mattermost's format, junk gives none", () => {
    const trigger = Buffer.from(`clientid:${"u".repeat(26)}:1700000000000:c2ln`).toString("base64");
    assert.equal(triggerIdUser(trigger), "u".repeat(26));
    assert.equal(triggerIdUser(""), undefined);
    assert.equal(triggerIdUser("not base64!"), undefined);
    assert.equal(triggerIdUser(Buffer.from("a:b").toString("base64")), undefined);
  });
});

test("the key id is the one earlier versions stored in plugin data (scrypt of the secret)", async () => {
  // Written by the synchronous derivation of 0.1.x: records with it must still count as ours.
  assert.equal(await keyIdOf("rotated-secret-9876543210fedcba9876543210"), "f11a24a3");
  assert.notEqual(await keyIdOf("another-secret-9876543210fedcba98765432"), "f11a24a3");
});
