/**
 * Routing by access monitoring rules (Teleport 16+), kept live: the rules are listed, then
 * watched (`access_monitoring_rule`; listed again after every (re)connect so nothing missed while
 * disconnected counts), and each new request asks `recipientsFor` where to go. As in Teleport's
 * plugins (integrations/access/accessrequest/app.go), rules' recipients replace the config's when
 * a rule matches; a rule change applies to requests posted after it.
 *
 * Where the server has no rules (before 16: UNIMPLEMENTED) or the plugin's role may not read
 * them (PERMISSION_DENIED), one info line says so and posts are routed by the config alone.
 */
import type { Logger } from "pino";
import type { AccessRequest } from "../core/access-request.js";
import { conditionEnv, MonitoringRuleSet, type RuleUpdate } from "../core/monitoring-rules.js";
import { AppError } from "../errors.js";
import { type BackoffPolicy, backoffDelay } from "../lib/backoff.js";
import type { Clock } from "../lib/clock.js";
import type { TeleportClient } from "../teleport/client.js";
import { isPermissionDenied } from "../teleport/errors.js";
import {
  listMonitoringRules,
  type RuleWatchEvent,
  watchMonitoringRules,
} from "../teleport/monitoring-rules.js";

/** Reconnect delays of the rules' watch (the same as the requests' watch). */
export const RULES_WATCH_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };
/**
 * How long a new request waits for the first listing of the rules before its post is retried
 * later (the sync scheduler's backoff): posting by the config meanwhile would route it wrongly.
 */
export const RULES_LOAD_WAIT_MS = 10_000;
/** Spec field numbers of rule features newer than our proto subset, for the warning. */
const KNOWN_NEWER_FIELDS: Record<number, string> = { 8: "schedules" };

export interface MonitoringRuleRoutingDeps {
  teleport: () => TeleportClient;
  /** `notification.name` of the rules for this plugin. */
  pluginName: string;
  clock: Clock;
  random?: () => number;
  logger: Logger;
}

type State = "loading" | "active" | "off";

export class MonitoringRuleRouting {
  private readonly rules: MonitoringRuleSet;
  private state: State = "loading";
  private settled!: () => void;
  /** Resolves once the rules were listed, or routing by them is off. */
  private readonly ready = new Promise<void>((resolve) => {
    this.settled = resolve;
  });
  /** What was warned about (a rule's problem, once per rule and text). */
  private readonly warned = new Set<string>();

  constructor(private readonly deps: MonitoringRuleRoutingDeps) {
    this.rules = new MonitoringRuleSet(deps.pluginName);
  }

  /** Lists and watches the rules until `signal` aborts or the server or role lacks them. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted && !this.off) {
      const live = await this.session(signal);
      if (signal.aborted || this.off) break;
      if (live) attempt = 0;
      const delay = backoffDelay(RULES_WATCH_BACKOFF, attempt++, this.deps.random);
      await this.deps.clock.sleep(delay, signal).catch(() => undefined);
    }
    this.settled();
  }

  private get off(): boolean {
    return this.state === "off";
  }

  /**
   * The recipients of the rules that match `request`, or none: route by the config. Throws a
   * retryable AppError while the rules could not be read yet.
   */
  async recipientsFor(request: AccessRequest): Promise<string[]> {
    if (this.state === "loading") {
      const waited = new Promise<"late">((resolve) =>
        setTimeout(() => resolve("late"), RULES_LOAD_WAIT_MS).unref(),
      );
      if ((await Promise.race([this.ready.then(() => "ready" as const), waited])) === "late") {
        throw new AppError("TELEPORT", "Access monitoring rules could not be read from Teleport yet", {
          retryable: true,
        });
      }
    }
    if (this.state !== "active" || this.rules.size === 0) return [];
    const traits = this.rules.needsTraits() ? await this.traitsOf(request.user) : {};
    const { recipients, rules } = this.rules.match(conditionEnv(request, traits));
    if (rules.length > 0) {
      this.deps.logger.info(
        { request_id: request.id, rules, recipients },
        "Access monitoring rules matched; posting to their recipients",
      );
    }
    return recipients;
  }

  /** One connection: list (to find out whether rules exist at all), watch, list again on INIT. */
  private async session(signal: AbortSignal): Promise<boolean> {
    const teleport = this.deps.teleport();
    let live = false;
    try {
      if (this.state === "loading") this.replace(await listMonitoringRules(teleport));
      for await (const event of watchMonitoringRules(teleport, signal)) {
        if (event.type === "init") {
          this.replace(await listMonitoringRules(teleport));
          live = true;
        } else if (live) {
          this.apply(event);
        }
      }
      if (!signal.aborted) this.deps.logger.warn("Access monitoring rule watch closed. Reconnecting…");
    } catch (error) {
      if (!signal.aborted) this.failed(AppError.from(error, "TELEPORT"));
    }
    return live;
  }

  private replace(rules: Parameters<MonitoringRuleSet["replaceAll"]>[0]): void {
    const first = this.state === "loading";
    for (const update of this.rules.replaceAll(rules)) this.report(update);
    this.state = "active";
    this.settled();
    if (first) {
      this.deps.logger.info(
        { rules: this.rules.size, plugin: this.deps.pluginName },
        `Routing by access monitoring rules: ${this.rules.size} for "${this.deps.pluginName}"`,
      );
    }
  }

  private apply(event: Exclude<RuleWatchEvent, { type: "init" }>): void {
    if (event.type === "delete") {
      if (this.rules.delete(event.name))
        this.deps.logger.info({ rule: event.name }, "Access monitoring rule deleted");
      return;
    }
    const update = this.rules.put(event.rule);
    this.report(update);
    if (update.kind === "active")
      this.deps.logger.info({ rule: event.rule.name }, "Access monitoring rule updated");
  }

  /** A rule that cannot be used, or that has features this plugin does not read, is said once. */
  private report(update: RuleUpdate): void {
    const { rule } = update;
    if (update.kind === "unusable") {
      this.once(`${rule.name}\n${rule.condition}`, () =>
        this.deps.logger.warn(
          { rule: rule.name, condition: rule.condition, err: update.error.message },
          `Access monitoring rule "${rule.name}" is skipped: its condition cannot be evaluated`,
        ),
      );
    } else if (update.kind === "active" && rule.unknownFields.length > 0) {
      const fields = rule.unknownFields.map((no) => KNOWN_NEWER_FIELDS[no] ?? `field ${no}`);
      this.once(`${rule.name}\n${fields.join()}`, () =>
        this.deps.logger.warn(
          { rule: rule.name, fields },
          `Access monitoring rule "${rule.name}" uses ${fields.join(", ")}, which this plugin does not read; it applies at all times`,
        ),
      );
    }
  }

  private failed(error: AppError): void {
    const denied = isPermissionDenied(error);
    if (error.code === "TELEPORT_VERSION" || denied) {
      this.state = "off";
      this.rules.clear();
      this.settled();
      this.deps.logger.info(
        denied
          ? {
              err: error.message,
              fix: "Give the plugin's role the rule `access_monitoring_rule: [list, read]` to route by access monitoring rules",
            }
          : {},
        denied
          ? "The plugin's Teleport role may not read access monitoring rules; posts are routed by the config only"
          : "This Teleport server has no access monitoring rules (they came in 16); posts are routed by the config only",
      );
      return;
    }
    this.deps.logger.warn(
      { err: error.describe() },
      "Failed to read access monitoring rules from Teleport. Retrying…",
    );
  }

  /** The requester's traits; none (with one warning) when the role may not read users. */
  private async traitsOf(user: string): Promise<Record<string, string[]>> {
    try {
      return (await this.deps.teleport().getUser(user))?.traits ?? {};
    } catch (error) {
      if (!isPermissionDenied(error)) throw error;
      this.once("traits", () =>
        this.deps.logger.warn(
          { fix: "Give the plugin's role the rule `user: [read]`" },
          "The plugin's Teleport role may not read users, so rules that use user.traits see none",
        ),
      );
      return {};
    }
  }

  private once(key: string, log: () => void): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    log();
  }
}
