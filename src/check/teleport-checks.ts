/**
 * The Teleport half of `check`: the identity (usable, and not about to expire), the auth server,
 * the identity accepted, and every call the configured modes need (check/permissions).
 */
import { randomUUID } from "node:crypto";
import { loadIdentity, teleportConnection } from "../cli/start.js";
import type { Config } from "../config/config.js";
import { hasMapping } from "../core/review-policy.js";
import { AppError } from "../errors.js";
import { TeleportClient } from "../teleport/client.js";
import { certificateDaysLeft, type TlsIdentity } from "../teleport/identity.js";
import { describeRoute } from "../teleport/route-detect.js";
import { isAtLeast, MIN_SERVER_VERSION } from "../teleport/version.js";
import type { Emit, Fail } from "./checks.js";
import { checkMonitoringRules } from "./monitoring-rules.js";
import { type PermissionReport, probePermissions, roleFix } from "./permissions.js";

/** Short deadlines: check is run by a person waiting for the answer. */
const TELEPORT_TIMEOUT_MS = 5_000;
/**
 * An identity that expires sooner is reported as a failure unless tbot renews it: exported with
 * `--ttl=8760h` it was meant to last a year, and the daemon stops working when it runs out.
 */
export const EXPIRY_WARNING_DAYS = 7;
const HOUR_MS = 3_600_000;

/** Runs the Teleport checks; returns what the permission probes found, when they ran. */
export async function checkTeleport(
  config: Config,
  emit: Emit,
  fail: Fail,
): Promise<PermissionReport | undefined> {
  let identity: TlsIdentity;
  try {
    identity = await loadIdentity(config);
  } catch (error) {
    fail("Teleport identity", error);
    emit("skip", "Teleport", "not checked: the daemon cannot connect without a usable identity");
    return undefined;
  }
  reportIdentity(config, identity, emit);

  const teleport = new TeleportClient({
    addr: config.teleport.addr,
    identity: { cert: identity.cert, key: identity.key, cas: identity.cas },
    callTimeoutMs: TELEPORT_TIMEOUT_MS,
    ...(await teleportConnection(config)),
  });
  try {
    let serverVersion: string;
    try {
      const ping = await teleport.ping();
      serverVersion = ping.serverVersion;
      if (teleport.route) emit("ok", "Teleport connection", describeRoute(teleport.route));
      if (!isAtLeast(ping.serverVersion, MIN_SERVER_VERSION)) {
        emit(
          "fail",
          "Teleport auth server",
          `${config.teleport.addr} runs Teleport ${ping.serverVersion}, older than ${MIN_SERVER_VERSION}. Upgrade the auth server`,
        );
        return undefined;
      }
      emit(
        "ok",
        "Teleport auth server",
        `${config.teleport.addr} answers: cluster ${ping.clusterName}, Teleport ${ping.serverVersion}`,
      );
    } catch (error) {
      // Route errors (proxy, certificates, cluster name) carry their own fix.
      const failure = AppError.from(error);
      emit(
        "fail",
        "Teleport connection",
        failure.fix
          ? failure.describe()
          : `cannot reach ${config.teleport.addr}: ${failure.message}. Check [teleport] addr, that Teleport runs, and that this host reaches it`,
      );
      emit(
        "skip",
        "Teleport auth server, identity accepted, permissions",
        "not checked: Teleport did not answer",
      );
      return undefined;
    }

    try {
      // Ping answers without a client certificate; listing (what catch-up does) needs one.
      await teleport.listRequests({ id: randomUUID() });
      emit("ok", "Teleport identity accepted", `the auth server accepts user ${identity.user}`);
    } catch (error) {
      emit(
        "fail",
        "Teleport identity accepted",
        `the auth server refuses user ${identity.user}: ${AppError.from(error).message}. ` +
          "Check that the user, its roles and the certificate still exist and are not locked, " +
          "and export the identity again with `tctl auth sign`",
      );
      emit("skip", "Teleport permissions", "not checked: the identity was refused");
      return undefined;
    }

    const report = await probePermissions(teleport, {
      mode: config.review.mode,
      mapping: hasMapping(config.review.mapping),
      serverVersion,
    });
    if (report.missing.length === 0) {
      emit("ok", "Teleport permissions", report.allowed.join(", "));
    } else {
      const missing = report.missing.map(({ what, why }) => `${what} (${why})`);
      emit(
        "fail",
        "Teleport permissions",
        `user ${identity.user} may not ${missing.join(", ")}. ${roleFix(report.missing)}`,
      );
    }
    await checkMonitoringRules(teleport, serverVersion, identity.user, emit);
    return report;
  } catch (error) {
    fail("Teleport permissions", error);
    return undefined;
  } finally {
    teleport.close();
  }
}

function reportIdentity(config: Config, identity: TlsIdentity, emit: Emit): void {
  const now = Date.now();
  const days = certificateDaysLeft(identity, now);
  const left =
    days >= 1
      ? `${days} days left`
      : `${Math.floor((identity.notAfter.getTime() - now) / HOUR_MS)} hours left`;
  const roles = identity.roles.length > 0 ? identity.roles.join(", ") : "none";
  const warnings = identity.warnings.length > 0 ? `; ${identity.warnings.join("; ")}` : "";
  const found = `user ${identity.user} (roles ${roles}), key matches, valid until ${identity.notAfter.toISOString()} (${left})`;
  const soon = identity.notAfter.getTime() - now < EXPIRY_WARNING_DAYS * 24 * HOUR_MS;
  if (soon && config.teleport.refreshIdentity) {
    emit(
      "ok",
      "Teleport identity",
      `${found}, renewed by tbot: re-read every ${interval(config)}${warnings}`,
    );
  } else if (soon) {
    emit(
      "fail",
      "Teleport identity",
      `${found}: it expires in less than ${EXPIRY_WARNING_DAYS} days, and the daemon stops working then${warnings}. ` +
        `Export a new one with \`${exportCommand(config, identity.user)}\` and reload the daemon, or let tbot renew an identity file (refresh_identity = true)`,
    );
  } else {
    emit("ok", "Teleport identity", `${found}${warnings}`);
  }
}

function interval(config: Config): string {
  const seconds = Math.round(config.teleport.refreshIdentityIntervalMs / 1000);
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

function exportCommand(config: Config, user: string): string {
  const credentials = config.teleport.credentials;
  return credentials.kind === "identity-file"
    ? `tctl auth sign --format=file --user=${user} --out=${credentials.identity} --ttl=8760h`
    : `tctl auth sign --format=tls --user=${user} --out=auth --ttl=8760h`;
}
