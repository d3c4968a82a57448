/**
 * The id an instance puts in its posting claims (`<instance id>@<lease end>`). It is derived,
 * not random and not stored: the same host, config file and callback listen address give the
 * same id, so a daemon restarted after a crash (or reloaded) recognises the claims it made
 * before and resumes them at once instead of waiting out their lease. Two daemons on one host
 * differ by their config file; two processes of the same config cannot run at once, because
 * the second cannot listen on the address the first holds.
 */
import { createHash } from "node:crypto";

/** Characters of the host name kept in clear, so an operator reading plugin data sees whose claim it is. */
const HOST_CHARS = 32;
/** Hash characters: 96 bits, enough that no two configs on one host ever collide. */
const DIGEST_CHARS = 16;

export interface InstanceFacts {
  hostname: string;
  /** Absolute path of the config file. */
  configPath: string;
  /** The callback server's listen address as configured (`host:port`). */
  listenAddr: string;
}

export function stableInstanceId(facts: InstanceFacts): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([facts.hostname, facts.configPath, facts.listenAddr]))
    .digest("base64url")
    .slice(0, DIGEST_CHARS);
  const host =
    facts.hostname
      .split(".")[0]
      ?.replace(/[^A-Za-z0-9-]/g, "")
      .slice(0, HOST_CHARS) || "host";
  return `${host}-${digest}`;
}
