/**
 * Trigger ids (MATTERMOST-API.md §4 and §5; `GenerateTriggerId` and `DecodeAndVerifyTriggerId` in
 * `server/public/model/integration_action.go`): a click mints `<client id>:<user id>:<millis>:`
 * signed with the server's ECDSA P-256 key, base64-encoded; opening a dialog verifies the signature
 * and the age (3 s before 9.5, `OutgoingIntegrationRequestsTimeout` since, §7).
 */
import { generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { ApiError } from "./errors.js";
import { newMattermostId } from "./model.js";

/** Where the click that minted a trigger happened (stand-in bookkeeping; Mattermost only knows the user). */
export interface TriggerRecord {
  userId: string;
  postId: string;
  channelId: string;
  teamId: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class TriggerIds {
  private readonly signingKey: KeyObject;
  private readonly verifyKey: KeyObject;
  private readonly records = new Map<string, TriggerRecord>();

  constructor() {
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.signingKey = keys.privateKey;
    this.verifyKey = keys.publicKey;
  }

  /** `GenerateTriggerId`: base64 of `<clientTriggerId>:<userId>:<millis>:<base64 ECDSA signature>`. */
  mint(userId: string, record: TriggerRecord, now: number): { clientTriggerId: string; triggerId: string } {
    const clientTriggerId = newMattermostId();
    const data = `${clientTriggerId}:${userId}:${now}:`;
    const signature = sign("sha256", Buffer.from(data), this.signingKey).toString("base64");
    this.records.set(clientTriggerId, record);
    return { clientTriggerId, triggerId: Buffer.from(data + signature).toString("base64") };
  }

  /** The click a client trigger id was minted for. */
  origin(clientTriggerId: string): TriggerRecord | undefined {
    return this.records.get(clientTriggerId);
  }

  /** `DecodeAndVerifyTriggerId`. */
  decode(triggerId: string, now: number, timeoutMs: number): { clientTriggerId: string; userId: string } {
    if (!BASE64.test(triggerId) || triggerId.length % 4 !== 0) {
      throw new ApiError(400, "interactive_message.decode_trigger_id.base64_decode_failed");
    }
    const parts = Buffer.from(triggerId, "base64").toString("utf8").split(":");
    if (parts.length !== 4) throw new ApiError(400, "interactive_message.decode_trigger_id.missing_data");
    const [clientTriggerId = "", userId = "", millis = "", signature = ""] = parts;
    if (now - (Number.parseInt(millis, 10) || 0) > timeoutMs) {
      throw new ApiError(400, "interactive_message.decode_trigger_id.expired", "", {
        Seconds: timeoutMs / 1000,
      });
    }
    if (!BASE64.test(signature)) {
      throw new ApiError(400, "interactive_message.decode_trigger_id.base64_decode_failed_signature");
    }
    let valid = false;
    try {
      valid = verify(
        "sha256",
        Buffer.from(`${clientTriggerId}:${userId}:${millis}:`),
        this.verifyKey,
        Buffer.from(signature, "base64"),
      );
    } catch {
      throw new ApiError(400, "interactive_message.decode_trigger_id.signature_decode_failed");
    }
    if (!valid) throw new ApiError(400, "interactive_message.decode_trigger_id.verify_signature_failed");
    return { clientTriggerId, userId };
  }
}
