/**
 * Signed button contexts. Mattermost echoes `integration.context` back verbatim on a click and
 * never shows it to users, but the callback itself is unauthenticated (MATTERMOST-API.md §4):
 * anyone who can reach our URL can POST the same JSON. So each context carries an HMAC-SHA256,
 * keyed with `[mattermost] secret`, over a version, the request id, the action and the channel
 * the post lives in. The post id cannot be signed because Mattermost assigns it when the post
 * is created, and adding it afterwards would cost a second API call per post under the rate
 * limit; instead a click is accepted only when its post id is the one recorded for that
 * request and channel in Teleport plugin data.
 */
import { createHmac, scrypt, timingSafeEqual } from "node:crypto";
import type { Decision } from "./render.js";

export const CONTEXT_VERSION = 1;

/** Salt of the key id derivation: a fixed, public label, so every instance derives the same id. */
const KEY_ID_SALT = "teleport-mattermost key id v1";
/** Hex characters of the key id: enough to tell a handful of secrets apart. */
const KEY_ID_LENGTH = 8;

/**
 * A short public id of a secret, stored in plugin data with the posts its key signed, so that a
 * rotated secret (the posts' buttons no longer verify) and two instances with different secrets
 * can be told apart. Derived with scrypt, so that testing guesses of the secret against the id
 * is slow; the secret itself is never stored. Computed in libuv's thread pool: scrypt's 16 MB and
 * ~100 ms (more on a loaded machine) then overlap the daemon's TLS handshakes and first calls
 * instead of blocking its start.
 */
export function keyIdOf(secret: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(secret, KEY_ID_SALT, KEY_ID_LENGTH / 2, (error, key) =>
      error ? reject(error) : resolve(key.toString("hex")),
    );
  });
}

export interface ActionContext {
  v: number;
  action: Decision;
  req_id: string;
  channel_id: string;
  sig: string;
}

function signature(secret: string, fields: Omit<ActionContext, "sig">): string {
  const payload = [fields.v, fields.action, fields.req_id, fields.channel_id].join("\n");
  return createHmac("sha256", secret).update(payload).digest("base64url");
}

export function signActionContext(
  secret: string,
  fields: { action: Decision; requestId: string; channelId: string },
): ActionContext {
  const unsigned = {
    v: CONTEXT_VERSION,
    action: fields.action,
    req_id: fields.requestId,
    channel_id: fields.channelId,
  };
  return { ...unsigned, sig: signature(secret, unsigned) };
}

export type ContextCheck =
  | { ok: true; context: ActionContext }
  | { ok: false; reason: "malformed" | "bad_signature" | "unknown_version" };

/** Verifies a context as received in a callback body; never throws. */
export function verifyActionContext(secret: string, raw: unknown): ContextCheck {
  if (typeof raw !== "object" || raw === null) return { ok: false, reason: "malformed" };
  const candidate = raw as Record<string, unknown>;
  const { v, action, req_id, channel_id, sig } = candidate;
  if (
    typeof v !== "number" ||
    (action !== "approve" && action !== "deny") ||
    typeof req_id !== "string" ||
    typeof channel_id !== "string" ||
    typeof sig !== "string" ||
    req_id.length === 0 ||
    req_id.length > 256
  ) {
    return { ok: false, reason: "malformed" };
  }
  if (v !== CONTEXT_VERSION) return { ok: false, reason: "unknown_version" };
  const fields = { v, action: action as Decision, req_id, channel_id };
  const expected = Buffer.from(signature(secret, fields));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: "bad_signature" };
  }
  return { ok: true, context: { ...fields, sig } };
}

/**
 * Signed dialog state. A click opens a dialog through the click's `trigger_id`, which only
 * Mattermost mints and which opens the dialog for the user it was minted for
 * (MATTERMOST-API.md §5, §10). The submission comes back unauthenticated too, with no post id,
 * so the dialog's `state` carries what the submission needs, signed: request, action, post,
 * channel, the user the dialog was opened for, when it expires and a nonce that makes one
 * dialog decide at most once. A submission counts only when its `user_id` is that user.
 */
export const DIALOG_STATE_VERSION = 1;
/** How long an opened dialog may wait for its submission. */
export const DIALOG_STATE_TTL_MS = 15 * 60_000;
/** Separates dialog-state signatures from button-context signatures under the same key. */
const DIALOG_STATE_PURPOSE = "teleport-mattermost dialog state";
/** Far above any state we write; refuses pathological input before parsing it. */
const MAX_DIALOG_STATE_LENGTH = 2048;

export interface DialogState {
  v: number;
  action: Decision;
  req_id: string;
  post_id: string;
  channel_id: string;
  /** Mattermost user id the dialog was opened for. */
  user_id: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  nonce: string;
}

function stateSignature(secret: string, payload: string): string {
  return createHmac("sha256", secret).update(`${DIALOG_STATE_PURPOSE}\n${payload}`).digest("base64url");
}

/** `<base64url(JSON)>.<base64url(HMAC)>`; `now` and `nonce` are passed in, so this stays pure. */
export function signDialogState(
  secret: string,
  fields: {
    action: Decision;
    requestId: string;
    postId: string;
    channelId: string;
    userId: string;
    nonce: string;
  },
  now: number,
): string {
  const state: DialogState = {
    v: DIALOG_STATE_VERSION,
    action: fields.action,
    req_id: fields.requestId,
    post_id: fields.postId,
    channel_id: fields.channelId,
    user_id: fields.userId,
    exp: now + DIALOG_STATE_TTL_MS,
    nonce: fields.nonce,
  };
  const payload = Buffer.from(JSON.stringify(state)).toString("base64url");
  return `${payload}.${stateSignature(secret, payload)}`;
}

export type DialogStateCheck =
  | { ok: true; state: DialogState }
  | { ok: false; reason: "malformed" | "bad_signature" | "unknown_version" | "expired" };

/** Verifies a submission's `state` at time `now`; never throws. */
export function verifyDialogState(secret: string, raw: unknown, now: number): DialogStateCheck {
  if (typeof raw !== "string" || raw.length > MAX_DIALOG_STATE_LENGTH)
    return { ok: false, reason: "malformed" };
  const [payload, sig, extra] = raw.split(".");
  if (!payload || !sig || extra !== undefined) return { ok: false, reason: "malformed" };
  const expected = Buffer.from(stateSignature(secret, payload));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: "bad_signature" };
  }
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!isDialogState(state)) return { ok: false, reason: "malformed" };
  if (state.v !== DIALOG_STATE_VERSION) return { ok: false, reason: "unknown_version" };
  if (now > state.exp) return { ok: false, reason: "expired" };
  return { ok: true, state };
}

function isDialogState(value: unknown): value is DialogState {
  if (typeof value !== "object" || value === null) return false;
  const state = value as Record<string, unknown>;
  return (
    typeof state["v"] === "number" &&
    (state["action"] === "approve" || state["action"] === "deny") &&
    ["req_id", "post_id", "channel_id", "user_id", "nonce"].every((key) => typeof state[key] === "string") &&
    typeof state["exp"] === "number"
  );
}

/**
 * The user a trigger id was minted for. Mattermost's trigger id is base64 of
 * `<client trigger id>:<user id>:<millis>:<signature>` (MATTERMOST-API.md §4); we cannot check
 * the signature (Mattermost does, when the dialog is opened), but a click whose `user_id` is
 * not the trigger's user was not made by the user it claims.
 */
export function triggerIdUser(triggerId: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(triggerId)) return undefined;
  const parts = Buffer.from(triggerId, "base64").toString("utf8").split(":");
  return parts.length === 4 && parts[1] ? parts[1] : undefined;
}
