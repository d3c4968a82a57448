/**
 * [health]: the plain-HTTP listener for probes and Prometheus (/healthz, /readyz, /metrics).
 * Loopback by default: it needs no TLS or auth there, and a scraper on another host is a choice
 * the operator makes by changing the address.
 */

import { quoted } from "../../lib/bounded.js";
import type { HealthConfig } from "../config.js";
import { ConfigIssue } from "../config-issue.js";
import { checkHostPort, type HostPort } from "../host-port.js";
import type { RawConfig } from "../schema.js";
import { given, type SectionContext } from "../section-context.js";

type HealthTable = NonNullable<RawConfig["health"]>;

export const DEFAULT_HEALTH_LISTEN_ADDR = "127.0.0.1:8082";

/** `callbackListen` is the resolved [http] listen_addr, which must not be the same socket. */
export function resolveHealth(
  table: HealthTable,
  ctx: SectionContext,
  callbackListen: HostPort,
): HealthConfig {
  const path = ["health", "listen_addr"];
  const text = given(table.listen_addr) ? table.listen_addr : DEFAULT_HEALTH_LISTEN_ADDR;
  const checked = checkHostPort(text, { hostRequired: false, allowPortZero: true });
  if (!checked.ok) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(text)} ${checked.problem}`,
      `Write it like "${DEFAULT_HEALTH_LISTEN_ADDR}" (this host only) or ":8082" (every interface)`,
    );
  }
  const listen = checked.value;
  if (
    listen.port !== 0 &&
    listen.port === callbackListen.port &&
    overlaps(listen.host, callbackListen.host)
  ) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(text)} uses port ${listen.port}, which the callback server ` +
        `(${ctx.keyName(["http", "listen_addr"])}) listens on`,
      `Give the health listener a port of its own, e.g. listen_addr = "${DEFAULT_HEALTH_LISTEN_ADDR}"`,
    );
  }
  return { listen };
}

/** Two listen hosts collide when they are the same or one of them is every interface. */
function overlaps(a: string, b: string): boolean {
  const everywhere = (host: string) => host === "" || host === "0.0.0.0" || host === "::";
  return a === b || everywhere(a) || everywhere(b);
}
