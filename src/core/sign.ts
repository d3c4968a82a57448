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
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Decision } from "./render.js";

export const CONTEXT_VERSION = 1;

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
