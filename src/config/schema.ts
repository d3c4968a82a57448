/**
 * The shape of the TOML file: which tables and keys exist and the TOML type of each value.
 * Every table is a `z.strictObject`, so a misspelt or misplaced key is an error rather than a
 * silently ignored setting (a plain object, or `.strict()` on the root only, lets nested unknown
 * keys through). Values are only type-checked here; what they mean (URLs, durations, files,
 * which keys go together) is checked in sections/, where an error can say how to fix it.
 *
 * Only the current snake_case spellings appear here; legacy-keys.ts renames old spellings
 * before validation.
 */
// zod/mini: the same checks and issues as `zod`, loaded in a twentieth of the time and memory
// (the daemon parses one file at start; classic zod's method chains cost ~10 MB of RSS).

import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// Messages in English, as `zod` loads them by default (mini leaves them generic).
z.config(en());

const text = z.optional(z.string());
const flag = z.optional(z.boolean());

export const teleportTableSchema = z.strictObject({
  addr: text,
  client_key: text,
  client_crt: text,
  root_cas: text,
  identity: text,
  refresh_identity: flag,
  refresh_identity_interval: text,
  proxy_ca_file: text,
  connection_upgrade: flag,
});

export const mattermostTableSchema = z.strictObject({
  url: text,
  team: text,
  channel: text,
  token: text,
  secret: text,
  ca_file: text,
  recipients: z.optional(z.array(z.string())),
  dm_suggested_reviewers: flag,
  notify_requester: flag,
  ha_cluster: flag,
});

export const remindersTableSchema = z.strictObject({
  after: text,
  every: text,
});

export const httpTableSchema = z.strictObject({
  public_addr: text,
  listen_addr: text,
  https_key_file: text,
  https_cert_file: text,
  basic_auth: z.optional(z.strictObject({ user: text, password: text })),
  tls: z.optional(z.strictObject({ verify_client_cert: flag, client_ca_file: text })),
});

export const healthTableSchema = z.strictObject({
  listen_addr: text,
});

export const logTableSchema = z.strictObject({
  output: text,
  severity: text,
  format: text,
});

const list = z.optional(z.array(z.string()));

/** Who may decide requests for one role (state-change mode). */
export const approverTableSchema = z.strictObject({
  mattermost_users: list,
  mattermost_teams: list,
  teleport_users: list,
});

export const reviewTableSchema = z.strictObject({
  mode: text,
  mattermost_user_trait: text,
  allow_email_username_match: flag,
  approve_reason: text,
  deny_reason: text,
  link_only_roles: z.optional(z.union([z.string(), z.array(z.string())])),
  /** Mattermost username → Teleport user. Usernames are free, so this is a record. */
  users: z.optional(z.record(z.string(), z.string())),
  /** Role name (or "*") → approvers. */
  approvers: z.optional(z.record(z.string(), approverTableSchema)),
});

/** Role name → one recipient or a list of them. Role names are free, so this is a record. */
export const roleToRecipientsSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

export const rawConfigSchema = z.strictObject({
  teleport: z.optional(teleportTableSchema),
  mattermost: z.optional(mattermostTableSchema),
  http: z.optional(httpTableSchema),
  health: z.optional(healthTableSchema),
  log: z.optional(logTableSchema),
  review: z.optional(reviewTableSchema),
  role_to_recipients: z.optional(roleToRecipientsSchema),
  reminders: z.optional(remindersTableSchema),
});

/** The TOML document after type checks: snake_case, nothing defaulted yet. */
export type RawConfig = z.infer<typeof rawConfigSchema>;

/**
 * The keys a table accepts, for "did you mean" suggestions: `[]` is the root,
 * `["http"]` the [http] table. Undefined for paths that are not strict tables.
 */
export function knownKeys(path: readonly string[]): string[] | undefined {
  let schema: z.ZodMiniType = rawConfigSchema;
  for (const segment of path) {
    const table = unwrapOptional(schema);
    if (table instanceof z.ZodMiniRecord) {
      // Keys of a record are free (role names, usernames); every one leads to its value type.
      schema = table._zod.def.valueType as z.ZodMiniType;
      continue;
    }
    if (!(table instanceof z.ZodMiniObject)) return undefined;
    const next = (table.shape as Record<string, z.ZodMiniType>)[segment];
    if (!next) return undefined;
    schema = next;
  }
  const table = unwrapOptional(schema);
  if (table instanceof z.ZodMiniRecord) return [];
  return table instanceof z.ZodMiniObject ? Object.keys(table.shape) : undefined;
}

function unwrapOptional(schema: z.ZodMiniType): z.ZodMiniType {
  return schema instanceof z.ZodMiniOptional ? (schema._zod.def.innerType as z.ZodMiniType) : schema;
}

/** Every table path of the schema (for "this key belongs in another table" hints). */
export function knownTables(): string[][] {
  const tables: string[][] = [[]];
  for (const [name] of Object.entries(rawConfigSchema.shape)) {
    const keys = knownKeys([name]);
    if (!keys) continue;
    tables.push([name]);
    for (const key of keys) if (knownKeys([name, key])) tables.push([name, key]);
  }
  return tables;
}
