/**
 * Message attachments as Mattermost stores and shows them (MATTERMOST-API.md §4; `model.SlackAttachment`
 * and `model.PostAction` in `server/public/model/slack_attachment.go`, `Post.GenerateActionIds` and
 * `Post.StripActionIntegrations` in `server/public/model/post.go`): `props.attachments` is re-typed on
 * every write (undecodable attachments dropped, missing action ids generated, `tooltip` kept from
 * 10.5), and `integration` is stripped from every post the API returns (§2 "get post").
 */
import { clone, isObject, newMattermostId } from "./model.js";

type Decoded = Record<string, unknown> | undefined;

function str(source: Record<string, unknown>, key: string): string | undefined | null {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : null; // null = type error
}

function decodeAction(raw: unknown, keepTooltip: boolean): Decoded | "skip" {
  if (raw === null) return "skip";
  if (!isObject(raw)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of ["id", "type", "name"]) {
    const value = str(raw, key);
    if (value === null) return undefined;
    if (value) out[key] = value;
  }
  if (raw["disabled"] !== undefined && raw["disabled"] !== null) {
    if (typeof raw["disabled"] !== "boolean") return undefined;
    if (raw["disabled"]) out["disabled"] = true;
  }
  for (const key of ["style", "data_source"]) {
    const value = str(raw, key);
    if (value === null) return undefined;
    if (value) out[key] = value;
  }
  if (Array.isArray(raw["options"]) && raw["options"].length > 0) {
    const options: Record<string, string>[] = [];
    for (const option of raw["options"]) {
      if (option === null) continue;
      if (!isObject(option)) return undefined;
      const text = str(option, "text");
      const value = str(option, "value");
      if (text === null || value === null) return undefined;
      options.push({ text: text ?? "", value: value ?? "" });
    }
    out["options"] = options;
  } else if (raw["options"] !== undefined && raw["options"] !== null && !Array.isArray(raw["options"])) {
    return undefined;
  }
  const defaultOption = str(raw, "default_option");
  if (defaultOption === null) return undefined;
  if (defaultOption) out["default_option"] = defaultOption;
  const integration = raw["integration"];
  if (integration !== undefined && integration !== null) {
    if (!isObject(integration)) return undefined;
    const url = str(integration, "url");
    if (url === null) return undefined;
    const context = integration["context"];
    if (context !== undefined && context !== null && !isObject(context)) return undefined;
    const decoded: Record<string, unknown> = {};
    if (url) decoded["url"] = url;
    if (isObject(context) && Object.keys(context).length > 0) decoded["context"] = context;
    out["integration"] = decoded;
  }
  const cookie = str(raw, "cookie");
  if (cookie === null) return undefined;
  if (cookie) out["cookie"] = cookie;
  if (keepTooltip) {
    const tooltip = str(raw, "tooltip");
    if (tooltip === null) return undefined;
    if (tooltip) out["tooltip"] = tooltip;
  }
  return out;
}

function decodeAttachment(raw: unknown, keepTooltip: boolean): Decoded {
  const source = raw === null ? {} : raw;
  if (!isObject(source)) return undefined;
  const id = source["id"];
  if (id !== undefined && id !== null && !Number.isInteger(id)) return undefined;
  const out: Record<string, unknown> = { id: typeof id === "number" ? id : 0 };
  const strings = ["fallback", "color", "pretext", "author_name", "author_link", "author_icon", "title"];
  for (const key of [...strings, "title_link", "text"]) {
    const value = str(source, key);
    if (value === null) return undefined;
    out[key] = value ?? "";
  }
  const fields = source["fields"];
  if (Array.isArray(fields)) {
    const decodedFields: Record<string, unknown>[] = [];
    for (const field of fields) {
      if (field === null) continue;
      if (!isObject(field)) return undefined;
      const title = str(field, "title");
      if (title === null) return undefined;
      const short = field["short"];
      let shortValue = false;
      if (short === true || short === "true") shortValue = true;
      else if (short !== undefined && short !== null && short !== false && short !== "false")
        return undefined;
      decodedFields.push({ title: title ?? "", value: field["value"] ?? null, short: shortValue });
    }
    out["fields"] = decodedFields.length > 0 ? decodedFields : null;
  } else if (fields !== undefined && fields !== null) {
    return undefined;
  } else {
    out["fields"] = null;
  }
  for (const key of ["image_url", "thumb_url", "footer", "footer_icon"]) {
    const value = str(source, key);
    if (value === null) return undefined;
    out[key] = value ?? "";
  }
  if (source["ts"] !== undefined && source["ts"] !== null) out["ts"] = source["ts"];
  const actions = source["actions"];
  if (Array.isArray(actions)) {
    const decodedActions: Record<string, unknown>[] = [];
    for (const action of actions) {
      const decoded = decodeAction(action, keepTooltip);
      if (decoded === "skip") continue;
      if (decoded === undefined) return undefined;
      decodedActions.push(decoded);
    }
    if (decodedActions.length > 0) out["actions"] = decodedActions;
  } else if (actions !== undefined && actions !== null) {
    return undefined;
  }
  return out;
}

/**
 * `Post.GenerateActionIds`: re-types `props.attachments` as `[]*SlackAttachment` (normalising
 * them, dropping undecodable ones; an empty result becomes `null`) and fills missing action ids.
 */
export function normalizeProps(
  props: Record<string, unknown>,
  keepTooltip: boolean,
): Record<string, unknown> {
  const raw = props["attachments"];
  if (raw === undefined || raw === null) return props;
  const attachments: Record<string, unknown>[] = [];
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const decoded = decodeAttachment(item, keepTooltip);
      if (decoded) attachments.push(decoded);
    }
  }
  for (const attachment of attachments) {
    for (const action of (attachment["actions"] as Record<string, unknown>[] | undefined) ?? []) {
      if (!action["id"]) action["id"] = newMattermostId();
    }
  }
  return { ...props, attachments: attachments.length > 0 ? attachments : null };
}

export function attachmentActions(props: Record<string, unknown>): Record<string, unknown>[] {
  const attachments = props["attachments"];
  if (!Array.isArray(attachments)) return [];
  const actions: Record<string, unknown>[] = [];
  for (const attachment of attachments) {
    if (!isObject(attachment) || !Array.isArray(attachment["actions"])) continue;
    for (const action of attachment["actions"]) if (isObject(action)) actions.push(action);
  }
  return actions;
}

/** `Post.StripActionIntegrations`, applied to every post the API returns (§2 "get post"). */
export function stripIntegrations(props: Record<string, unknown>): Record<string, unknown> {
  const copy = clone(props);
  for (const action of attachmentActions(copy)) delete action["integration"];
  return copy;
}
