/**
 * The one error type of the daemon. Every failure that reaches a log line or the CLI is an
 * AppError with a stable code (for tests, metrics and control flow), a message that says what
 * happened, and where possible a `fix` that tells the operator what to do about it.
 */
export type ErrorCode =
  /** Config file missing, unreadable, invalid TOML, unknown key, wrong value. */
  | "CONFIG"
  /** Certificate or key files missing, unparsable, mismatched, expired. */
  | "CREDENTIALS"
  /** Teleport answered with an error or could not be reached. */
  | "TELEPORT"
  /** Teleport server too old or missing a method we need. */
  | "TELEPORT_VERSION"
  /** Teleport compare-and-swap precondition failed: re-read and re-plan. */
  | "CONFLICT"
  /** The thing asked for does not exist (Teleport NOT_FOUND, Mattermost 404). */
  | "NOT_FOUND"
  /** Mattermost answered with an error or could not be reached. */
  | "MATTERMOST"
  /** A callback (button click, dialog submission) was refused. */
  | "CALLBACK"
  /** A call ran out of time. */
  | "TIMEOUT"
  /** Shutdown was requested while the operation ran. */
  | "ABORTED"
  /** Anything else: a bug. */
  | "INTERNAL";

export interface AppErrorOptions {
  cause?: unknown;
  /** What the operator should do about it, said as an instruction. */
  fix?: string;
  /** Extra machine-readable detail (HTTP status, gRPC code, Mattermost error id …). */
  details?: Record<string, string | number | boolean | undefined>;
  /** True when trying the same thing again later may succeed. */
  retryable?: boolean;
}

export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: ErrorCode;
  readonly fix: string | undefined;
  readonly details: Record<string, string | number | boolean | undefined>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fix = options.fix;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
  }

  /** Normalises anything thrown into an AppError, keeping the original as `cause`. */
  static from(error: unknown, code: ErrorCode = "INTERNAL"): AppError {
    if (error instanceof AppError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new AppError(code, message, { cause: error });
  }

  /** One line for the operator: the message, then the fix. */
  describe(): string {
    return this.fix ? `${this.message}. ${this.fix}` : this.message;
  }
}

export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}
