/**
 * Old spellings that existing config files still use. The alpha of the original plugin used
 * hyphenated keys (renamed to snake_case on 2020-06-01), its docs kept printing them, and
 * `auth_server` became `addr` later (ORIGINAL-PLUGIN.md §0, §1). They keep working here with a
 * deprecation warning that names the new key; a key given under two spellings is an error,
 * because either choice would silently ignore one of them.
 */
import { ConfigIssue, dottedKey, type KeyPath } from "./config-issue.js";

interface KeyAlias {
  table: readonly string[];
  key: string;
  aliases: readonly string[];
}

/** In rename order: a table is renamed before the keys inside it. */
const KEY_ALIASES: readonly KeyAlias[] = [
  { table: ["teleport"], key: "addr", aliases: ["auth_server", "auth-server"] },
  { table: ["teleport"], key: "client_key", aliases: ["client-key"] },
  { table: ["teleport"], key: "client_crt", aliases: ["client-crt"] },
  { table: ["teleport"], key: "root_cas", aliases: ["root-cas"] },
  // The alpha's `host` was a bare host name and `base-url` a full URL; public_addr accepts both.
  { table: ["http"], key: "public_addr", aliases: ["host", "base-url"] },
  { table: ["http"], key: "listen_addr", aliases: ["listen"] },
  { table: ["http"], key: "https_key_file", aliases: ["https-key-file"] },
  { table: ["http"], key: "https_cert_file", aliases: ["https-cert-file"] },
  { table: ["http"], key: "basic_auth", aliases: ["basic-auth"] },
  { table: ["http", "tls"], key: "verify_client_cert", aliases: ["verify-client-cert"] },
];

export interface RenamedKey {
  /** Path in the file, as written (`["http", "listen"]`). */
  from: string[];
  /** Path in the current spelling (`["http", "listen_addr"]`). */
  to: string[];
}

export interface LegacyRenameResult {
  /** The document with every old spelling replaced by the current one (a copy; input untouched). */
  document: Record<string, unknown>;
  renamed: RenamedKey[];
  /** Maps a path in the current spelling back to the spelling the file uses. */
  spelledPath(path: KeyPath): KeyPath;
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function tableAt(document: Table, path: readonly string[]): Table | undefined {
  let current: unknown = document;
  for (const segment of path) {
    if (!isTable(current)) return undefined;
    current = current[segment];
  }
  return isTable(current) ? current : undefined;
}

/** Copies tables along the way so renames never touch the parser's objects. */
function copyTables(value: unknown): unknown {
  if (!isTable(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, copyTables(inner)]));
}

/**
 * Renames old spellings to current ones. `lineOf` (lines of the original spellings) is used
 * to say where both spellings of a key are, when a file gives it twice.
 */
export function renameLegacyKeys(
  parsed: Table,
  lineOf: (path: KeyPath) => number | undefined,
): LegacyRenameResult {
  const document = copyTables(parsed) as Table;
  const renamed: RenamedKey[] = [];
  const spelledPath = (path: KeyPath): KeyPath => {
    const spelled = [...path];
    for (const rename of renamed) {
      const matches = rename.to.every((segment, index) => spelled[index] === segment);
      if (matches) spelled[rename.to.length - 1] = rename.from[rename.to.length - 1] as string;
    }
    return spelled;
  };

  for (const alias of KEY_ALIASES) {
    const table = tableAt(document, alias.table);
    if (!table) continue;
    const spellings = [alias.key, ...alias.aliases].filter((name) => Object.hasOwn(table, name));
    if (spellings.length > 1) {
      const tablePath = spelledPath(alias.table);
      const where = spellings.map((name) => {
        const line = lineOf([...tablePath, name]);
        return line === undefined ? `\`${name}\`` : `\`${name}\` (line ${line})`;
      });
      throw new ConfigIssue(
        [...alias.table, spellings[1] as string],
        `${dottedKey([...alias.table, alias.key])} is given twice, as ${where.join(" and as ")}`,
        `Keep only \`${alias.key}\`; ${spellings
          .filter((name) => name !== alias.key)
          .map((name) => `\`${name}\``)
          .join(" and ")} ${spellings.length > 2 ? "are its old names" : "is its old name"}`,
      );
    }
    const old = spellings[0];
    if (old === undefined || old === alias.key) continue;
    table[alias.key] = table[old];
    delete table[old];
    renamed.push({ from: [...spelledPath(alias.table).map(String), old], to: [...alias.table, alias.key] });
  }
  return { document, renamed, spelledPath };
}
