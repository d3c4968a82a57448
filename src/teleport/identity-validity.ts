/**
 * How long the plugin's Teleport certificate stays valid, as the daemon runs: a warning 7 days
 * and 1 day before it expires, and once it has, every Teleport failure says so (Teleport only
 * resets the connection, which reads like a network problem) with the command that exports a
 * new one. Time comes from the clock passed in.
 */
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";

const DAY_MS = 24 * 60 * 60_000;
/** Warnings this long before expiry (7 days, then 1 day). */
export const EXPIRY_WARNINGS_MS = [7 * DAY_MS, DAY_MS] as const;
/** setTimeout holds at most 2³¹−1 ms (~24.8 days); longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ValidityDeps {
  notAfter: Date;
  /** The `tctl auth sign …` command that exports a fresh identity in the operator's format. */
  renewCommand: string;
  clock: Clock;
  logger: Logger;
  /** Called once when the certificate expires (or at start when it already has). */
  onExpired?: (message: string) => void;
}

export class IdentityValidity {
  private timer: NodeJS.Timeout | undefined;
  /** Index of the next warning in EXPIRY_WARNINGS_MS not yet given. */
  private nextWarning = 0;
  private expiredReported = false;

  constructor(private readonly deps: ValidityDeps) {}

  get expired(): boolean {
    return this.deps.clock.now() >= this.deps.notAfter.getTime();
  }

  /** "the plugin's Teleport certificate expired at …", for messages. */
  get expiredText(): string {
    return `the plugin's Teleport certificate expired at ${this.deps.notAfter.toISOString()}`;
  }

  get fix(): string {
    return `Export a new identity with \`${this.deps.renewCommand}\` and send SIGHUP (systemctl reload teleport-mattermost)`;
  }

  /** Gives the warnings due now and schedules the rest and the expiry. */
  start(): void {
    const left = this.deps.notAfter.getTime() - this.deps.clock.now();
    // Only the latest warning that is due counts: a certificate with 3 hours left gets one line.
    while (
      this.nextWarning < EXPIRY_WARNINGS_MS.length &&
      left <= (EXPIRY_WARNINGS_MS[this.nextWarning + 1] ?? -1)
    ) {
      this.nextWarning++;
    }
    this.check();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** `error` as it should be told: once expired, as the expiry, with the fix. */
  explain(error: AppError): AppError {
    if (
      !this.expired ||
      error.code === "CONFLICT" ||
      error.code === "NOT_FOUND" ||
      error.code === "ABORTED"
    ) {
      return error;
    }
    return new AppError("CREDENTIALS", `${this.expiredText}, so Teleport refuses it (${error.message})`, {
      cause: error,
      fix: this.fix,
      details: { ...error.details, identity: "expired" },
      retryable: true,
    });
  }

  private check(): void {
    const now = this.deps.clock.now();
    const left = this.deps.notAfter.getTime() - now;
    if (left <= 0) {
      if (!this.expiredReported) {
        this.expiredReported = true;
        this.deps.logger.error(
          { not_after: this.deps.notAfter.toISOString(), fix: this.fix },
          `${capitalised(this.expiredText)}; Teleport refuses it until it is renewed`,
        );
        this.deps.onExpired?.(`${this.expiredText}. ${this.fix}`);
      }
      return;
    }
    const threshold = EXPIRY_WARNINGS_MS[this.nextWarning];
    if (threshold !== undefined && left <= threshold) {
      this.nextWarning++;
      this.deps.logger.warn(
        { not_after: this.deps.notAfter.toISOString(), fix: this.fix },
        `The plugin's Teleport certificate expires in ${duration(left)}, at ${this.deps.notAfter.toISOString()}`,
      );
    }
    const nextAt = EXPIRY_WARNINGS_MS[this.nextWarning];
    const wait = nextAt !== undefined ? left - nextAt : left;
    this.timer = setTimeout(() => this.check(), Math.min(Math.max(wait, 0), MAX_TIMER_MS));
    this.timer.unref();
  }
}

function duration(ms: number): string {
  if (ms >= DAY_MS) return `${Math.floor(ms / DAY_MS)} day(s)`;
  if (ms >= 60 * 60_000) return `${Math.floor(ms / (60 * 60_000))} hour(s)`;
  return `${Math.max(1, Math.round(ms / 60_000))} minute(s)`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
