/**
 * What `check` asks Teleport to find the rules the plugin's role lacks: every call the
 * configured modes make, tried on a request id (and a user name) that does not exist, so
 * nothing changes. An allowed call answers NOT_FOUND or nothing; a refused one PERMISSION_DENIED
 * with Teleport's reason, e.g. `access denied to perform action "read" on "user"`
 * (TELEPORT-WIRE.md §6). Listing requests cannot be probed this way: without `list` Teleport
 * silently returns only the requests the caller could review.
 */
import { randomUUID } from "node:crypto";
import type { ReviewMode } from "../config/config.js";
import { PLUGIN_NAME } from "../core/plugin-data.js";
import { AppError, isAppError } from "../errors.js";
import type { TeleportClient } from "../teleport/client.js";
import { isPermissionDenied } from "../teleport/errors.js";
import { isAtLeast } from "../teleport/version.js";

/** SubmitAccessReview exists from 6.2 on (TELEPORT-WIRE.md §1). */
const MIN_REVIEW_SERVER_VERSION = "6.2.0";
/** How a server refuses reviews on behalf of a user (TELEPORT-WIRE.md §9 "older servers"). */
const ON_BEHALF_REFUSED = "cannot submit reviews on behalf of";
/** A check is run by a person waiting for the answer. */
const WATCH_TIMEOUT_MS = 5_000;

/** A role rule: resource → verbs (role `allow.rules`), or `review_requests.submit_for_users`. */
type Rule = { resource: string; verbs: string[] } | { submitForUsers: true };

interface Probe {
  /** What the daemon does with the call, e.g. "read users for the [review] mapping". */
  what: string;
  rule: Rule;
  call: () => Promise<unknown>;
}

export interface PermissionReport {
  /** What was tried and allowed. */
  allowed: string[];
  /** What was refused, each with the method and Teleport's reason ("GetUser: access denied …"). */
  missing: Array<{ what: string; why: string; rule: Rule }>;
  /** How decisions would reach Teleport: configured, or found out for "auto". */
  mode: "review" | "state";
  /** Why an "auto" daemon would decide by state changes, when it would. */
  stateBecause?: string;
  /** A mode this server cannot do at all (the daemon refuses to start then). */
  unsupported?: string;
}

/**
 * Tries what the daemon needs: the watch, reading and writing plugin data, GetUser (when a
 * [review] mapping is configured) and, per mode, a review on behalf of a user or a state change.
 * In "auto" mode the review is tried first; Teleport refusing reviews on behalf of users means
 * state changes, as the daemon would find on the first decision.
 */
export async function probePermissions(
  teleport: TeleportClient,
  options: { mode: ReviewMode; mapping: boolean; serverVersion: string },
): Promise<PermissionReport> {
  const absent = randomUUID();
  const probes: Probe[] = [
    {
      what: "watch access requests",
      rule: { resource: "access_request", verbs: ["list", "read"] },
      call: () => firstWatchEvent(teleport),
    },
    {
      what: "read plugin data",
      rule: { resource: "access_request", verbs: ["list", "read"] },
      call: () => teleport.getPluginData(absent, PLUGIN_NAME),
    },
    {
      what: "update plugin data",
      rule: { resource: "access_plugin_data", verbs: ["update"] },
      call: () => teleport.updatePluginData(absent, PLUGIN_NAME, { check: "1" }, {}),
    },
  ];
  if (options.mapping) {
    probes.push({
      what: "read users for the [review] mapping",
      rule: { resource: "user", verbs: ["read"] },
      call: () => teleport.getUser(`check-${absent}`),
    });
  }
  const report: PermissionReport = { allowed: [], missing: [], mode: "state" };
  for (const probe of probes) await run(probe, report);

  const hasReviews = isAtLeast(options.serverVersion, MIN_REVIEW_SERVER_VERSION);
  const review: Probe = {
    what: "submit reviews on behalf of users",
    rule: { submitForUsers: true },
    call: () =>
      teleport.submitReview(absent, { author: `check-${absent}`, state: "DENIED", onBehalfOfAuthor: true }),
  };
  const state: Probe = {
    what: "update access requests",
    rule: { resource: "access_request", verbs: ["update"] },
    call: () => teleport.setRequestState(absent, "DENIED", { reason: "teleport-mattermost check" }),
  };
  if (options.mode === "state" || (options.mode === "auto" && !hasReviews)) {
    if (options.mode === "auto") report.stateBecause = `Teleport ${options.serverVersion} has no reviews`;
    await run(state, report);
    return report;
  }
  if (options.mode === "review") {
    report.mode = "review";
    if (hasReviews) await run(review, report);
    else
      report.unsupported = `[review] mode = "review" needs Teleport ${MIN_REVIEW_SERVER_VERSION} or newer; this server is ${options.serverVersion}. Set mode = "state" (or "auto"), or upgrade Teleport`;
    return report;
  }
  const refusal = await attempt(review);
  if (refusal === undefined) {
    report.mode = "review";
    report.allowed.push(review.what);
  } else if (refusal.includes(ON_BEHALF_REFUSED)) {
    report.stateBecause = `Teleport ${options.serverVersion} refuses this identity's reviews on behalf of users`;
    await run(state, report);
  } else {
    report.mode = "review";
    report.missing.push({ what: review.what, why: refusal, rule: review.rule });
  }
  return report;
}

async function run(probe: Probe, report: PermissionReport): Promise<void> {
  const refusal = await attempt(probe);
  if (refusal === undefined) report.allowed.push(probe.what);
  else report.missing.push({ what: probe.what, why: refusal, rule: probe.rule });
}

/** Undefined when the call is allowed; else why not (Teleport's words). */
async function attempt(probe: Probe): Promise<string | undefined> {
  try {
    await probe.call();
    return undefined;
  } catch (error) {
    if (isAppError(error, "NOT_FOUND")) return undefined;
    const failure = AppError.from(error);
    if (!isPermissionDenied(failure)) throw failure;
    return failure.message.replace(/^Teleport denied /, "");
  }
}

/** Opens the watch the daemon keeps and closes it after its first event (INIT). */
async function firstWatchEvent(teleport: TeleportClient): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), WATCH_TIMEOUT_MS);
  try {
    for await (const _event of teleport.watchRequests(stop.signal)) return;
    if (stop.signal.aborted) throw new AppError("TIMEOUT", "the watch sent no event in time");
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

/**
 * The fix for what is missing, in role terms: the rules with their verbs merged per resource,
 * and `review_requests.submit_for_users` when reviews on behalf of users were refused.
 */
export function roleFix(missing: PermissionReport["missing"]): string {
  const verbs = new Map<string, Set<string>>();
  let submitFor = false;
  for (const { rule } of missing) {
    if ("submitForUsers" in rule) {
      submitFor = true;
      continue;
    }
    const set = verbs.get(rule.resource) ?? new Set<string>();
    for (const verb of rule.verbs) set.add(verb);
    verbs.set(rule.resource, set);
  }
  const parts: string[] = [];
  if (verbs.size > 0) {
    const rules = [...verbs].map(([resource, set]) => `${resource}: [${[...set].join(", ")}]`);
    parts.push(`the rules ${rules.join(", ")}`);
  }
  if (submitFor) {
    parts.push(
      "review_requests.submit_for_users: ['*'] (the preset role access-plugin-with-review has it; Teleport 18.11+), or set [review] mode = \"state\"",
    );
  }
  return `Give the plugin's Teleport role ${parts.join(" and ")} (tctl create -f on the edited role); it applies at once, no new identity is needed`;
}
