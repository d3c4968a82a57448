/**
 * Failures that hit one recipient of a request (the bot removed from a channel, a channel that
 * cannot be found) and not the others. Each is logged once when the recipient starts failing,
 * with the fix, and once when it works again; the request's other posts go ahead, and the work
 * left undone is retried per recipient (`scope`), not per request: app/sync-scheduler parks
 * every request waiting on the same recipient behind one probe.
 */
import type { Logger } from "pino";
import { AppError } from "../errors.js";

/** Recipients remembered as failing; beyond this many the memory starts over. */
const MAX_TRACKED = 10_000;

/** Work left undone for one recipient, to be retried when it works again. */
export interface DeferredFailure {
  /** What the retry waits on: `channel:<id>` or `recipient:<name>`. */
  scope: string;
  error: AppError;
}

export class DeliveryFailures {
  /** Scope → what was logged about it, while failing. */
  private readonly failing = new Map<string, string>();
  /** Channel id → how the operator wrote the recipient, for messages about updates. */
  private readonly labels = new Map<string, string>();

  constructor(
    private readonly logger: Logger,
    /** The bot's username, to name it in fixes. */
    private readonly botName = "<bot>",
  ) {}

  /** Remembers how a channel was configured, so later messages about it can name it so. */
  label(channelId: string, label: string): void {
    if (this.labels.size >= MAX_TRACKED) this.labels.clear();
    this.labels.set(channelId, label);
  }

  /** A recipient failed: logged when it starts failing; the deferred work to retry. */
  failed(
    target: { channelId?: string; label?: string },
    error: AppError,
    what: "post to" | "update a post in",
  ): DeferredFailure {
    const scope = target.channelId ? `channel:${target.channelId}` : `recipient:${target.label ?? "?"}`;
    const name = this.nameOf(target);
    if (!this.failing.has(scope)) {
      if (this.failing.size >= MAX_TRACKED) this.failing.clear();
      this.failing.set(scope, name);
      this.logger.warn(
        { recipient: name, err: error.describe(), fix: fixFor(error, name, this.botName, !target.channelId) },
        `Cannot ${what} ${name}; the request's other posts go ahead, and this one catches up once it works`,
      );
    }
    return {
      scope,
      error: new AppError(error.code, `Cannot ${what} ${name}: ${error.message}`, {
        cause: error,
        ...(error.fix ? { fix: error.fix } : {}),
        details: { ...error.details, scope, logged: true },
      }),
    };
  }

  /** A recipient works (again). */
  worked(target: { channelId?: string; label?: string }): void {
    const scopes = [
      ...(target.channelId ? [`channel:${target.channelId}`] : []),
      ...(target.label ? [`recipient:${target.label}`] : []),
    ];
    for (const scope of scopes) {
      const name = this.failing.get(scope);
      if (name === undefined) continue;
      this.failing.delete(scope);
      this.logger.info(
        { recipient: name },
        `Mattermost accepts the bot's posts to ${name} again; catching up`,
      );
    }
  }

  private nameOf(target: { channelId?: string; label?: string }): string {
    const label = target.label ?? (target.channelId ? this.labels.get(target.channelId) : undefined);
    return label ?? `channel ${target.channelId ?? "?"}`;
  }
}

/** One error for a sync run that left work undone; the scheduler retries it per scope. */
export function deferredError(failures: readonly DeferredFailure[]): AppError {
  const first = failures[0];
  if (!first) return new AppError("INTERNAL", "deferredError called without failures");
  const scopes = [...new Set(failures.map((failure) => failure.scope))];
  return new AppError(
    first.error.code,
    failures.length === 1 ? first.error.message : `${first.error.message} (and ${failures.length - 1} more)`,
    {
      cause: first.error,
      ...(first.error.fix ? { fix: first.error.fix } : {}),
      details: { ...first.error.details, scope: scopes.join(" "), logged: true },
    },
  );
}

function fixFor(error: AppError, name: string, bot: string, lookup: boolean): string {
  // A recipient that could not even be looked up carries its own fix (app/recipients).
  if (lookup && error.fix) return error.fix;
  const channel = name.includes("/") ? `~${name.split("/")[1]}` : "that channel";
  if (error.details["status"] === 403) {
    return `Add @${bot} back to ${channel} (e.g. /invite @${bot} there); its posts catch up within 30 s`;
  }
  return error.fix ?? "Check the recipient in [mattermost] recipients or [role_to_recipients]";
}
