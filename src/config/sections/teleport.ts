/**
 * [teleport]: where the auth server (or the proxy in front of it) is, and which identity the
 * plugin presents to it.
 * The identity files themselves are read by teleport/identity.ts at start (and on reload);
 * here we only check that the settings make a complete, unambiguous choice.
 */

import { quoted } from "../../lib/bounded.js";
import type { TeleportConfig, TeleportCredentials } from "../config.js";
import { ConfigIssue } from "../config-issue.js";
import { parseDurationMs } from "../duration.js";
import { checkHostPort } from "../host-port.js";
import { readCertificates } from "../read-certificates.js";
import type { RawConfig } from "../schema.js";
import { configFilePath, given, type SectionContext } from "../section-context.js";

type TeleportTable = NonNullable<RawConfig["teleport"]>;

export const DEFAULT_TELEPORT_ADDR = "localhost:3025";
export const DEFAULT_REFRESH_IDENTITY_INTERVAL_MS = 60_000;
const MIN_REFRESH_IDENTITY_INTERVAL_MS = 1000;
const TLS_EXPORT = "tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h";

export async function resolveTeleport(table: TeleportTable, ctx: SectionContext): Promise<TeleportConfig> {
  const credentials = resolveCredentials(table, ctx);
  const refreshIdentity = table.refresh_identity ?? false;
  if (refreshIdentity && credentials.kind !== "identity-file") {
    throw new ConfigIssue(
      ["teleport", "refresh_identity"],
      `${ctx.keyName(["teleport", "refresh_identity"])} = true needs ${ctx.keyName(["teleport", "identity"])}`,
      "Set identity to the identity file that tbot (Machine ID) renews, or remove refresh_identity " +
        "(the client_key/client_crt/root_cas files are read at start and on SIGHUP)",
    );
  }
  return {
    addr: resolveAddr(table, ctx),
    credentials,
    refreshIdentity,
    refreshIdentityIntervalMs: resolveRefreshInterval(table, refreshIdentity, ctx),
    ...(await resolveProxyCa(table, ctx)),
    ...(table.connection_upgrade === undefined ? {} : { connectionUpgrade: table.connection_upgrade }),
  };
}

/** A private CA for the proxy's web certificate, checked to hold certificates now rather than at the first upgrade. */
async function resolveProxyCa(table: TeleportTable, ctx: SectionContext): Promise<{ proxyCaFile?: string }> {
  if (!given(table.proxy_ca_file)) return {};
  const file = configFilePath(ctx, table.proxy_ca_file);
  await readCertificates(
    ctx,
    ["teleport", "proxy_ca_file"],
    file,
    "Check the path, or remove proxy_ca_file when the proxy's web certificate comes from a public CA",
  );
  return { proxyCaFile: file };
}

function resolveAddr(table: TeleportTable, ctx: SectionContext): string {
  if (!given(table.addr)) return DEFAULT_TELEPORT_ADDR;
  const addr = table.addr.trim();
  const checked = checkHostPort(addr, { hostRequired: true });
  if (!checked.ok) {
    throw new ConfigIssue(
      ["teleport", "addr"],
      `${ctx.keyName(["teleport", "addr"])} ${quoted(table.addr)} ${checked.problem}`,
      'Write it as host:port without a scheme, e.g. addr = "teleport.example.com:443" (the proxy, ' +
        'or <tenant>.teleport.sh:443 on Teleport Cloud) or addr = "auth.example.com:3025" (the auth server)',
    );
  }
  return addr;
}

function resolveCredentials(table: TeleportTable, ctx: SectionContext): TeleportCredentials {
  const fileKeys = ["client_key", "client_crt", "root_cas"] as const;
  const setFiles = fileKeys.filter((key) => given(table[key]));
  const missingFiles = fileKeys.filter((key) => !given(table[key]));
  const names = (keys: readonly string[]) => keys.map((key) => ctx.keyName(["teleport", key])).join(", ");

  if (given(table.identity)) {
    const firstFile = setFiles[0];
    if (firstFile !== undefined) {
      throw new ConfigIssue(
        ["teleport", firstFile],
        `${ctx.keyName(["teleport", "identity"])} and ${names(setFiles)} are both set`,
        "Use either identity (one file from `tctl auth sign --format=file`) or client_key, client_crt " +
          "and root_cas (the files from `--format=tls`), not both",
      );
    }
    return { kind: "identity-file", identity: configFilePath(ctx, table.identity) };
  }
  if (setFiles.length === 0) {
    throw new ConfigIssue(
      ["teleport", "client_key"],
      `no Teleport credentials: ${names(fileKeys)} are not set`,
      `Export them with \`${TLS_EXPORT}\` and set client_key, client_crt and root_cas under [teleport] ` +
        "to the paths of auth.key, auth.crt and auth.cas (or set identity to a file from " +
        "`tctl auth sign --format=file`)",
    );
  }
  const firstMissing = missingFiles[0];
  if (firstMissing !== undefined) {
    throw new ConfigIssue(
      ["teleport", firstMissing],
      `${names(setFiles)} ${setFiles.length === 1 ? "is" : "are"} set but ${names(missingFiles)} ` +
        `${missingFiles.length === 1 ? "is" : "are"} missing`,
      `Set all three to the files of \`${TLS_EXPORT}\`: client_key = auth.key, client_crt = auth.crt, ` +
        "root_cas = auth.cas",
    );
  }
  return {
    kind: "tls-files",
    clientKey: configFilePath(ctx, table.client_key as string),
    clientCrt: configFilePath(ctx, table.client_crt as string),
    rootCas: configFilePath(ctx, table.root_cas as string),
  };
}

function resolveRefreshInterval(table: TeleportTable, refreshIdentity: boolean, ctx: SectionContext): number {
  const path = ["teleport", "refresh_identity_interval"];
  if (!given(table.refresh_identity_interval)) return DEFAULT_REFRESH_IDENTITY_INTERVAL_MS;
  const interval = parseDurationMs(table.refresh_identity_interval);
  if (interval === undefined) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(table.refresh_identity_interval)} is not a duration`,
      'Write it like "30s", "1m" or "1h"',
    );
  }
  if (interval < MIN_REFRESH_IDENTITY_INTERVAL_MS) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(table.refresh_identity_interval)} is shorter than 1s`,
      'Use at least "1s"; the default is "1m"',
    );
  }
  if (!refreshIdentity) {
    ctx.warn(path, `${ctx.keyName(path)} has no effect without refresh_identity = true`);
  }
  return interval;
}
