/**
 * Maps gRPC failures from the Teleport auth server to AppError codes. Teleport converts its
 * trace errors with trail.ToGRPC (TELEPORT-WIRE.md §6): CompareFailed → FAILED_PRECONDITION is
 * a compare-and-swap conflict (re-read, not an error), NotFound → NOT_FOUND, AccessDenied →
 * PERMISSION_DENIED, ConnectionProblem → UNAVAILABLE.
 */
import { type ServiceError, status } from "@grpc/grpc-js";
import { AppError, isAppError } from "../errors.js";
import { transportFailure } from "./transport-failures.js";

export function isServiceError(error: unknown): error is ServiceError {
  return typeof error === "object" && error !== null && "code" in error && "details" in error;
}

/** True for Teleport's AccessDenied (gRPC PERMISSION_DENIED), as {@link teleportError} maps it. */
export function isPermissionDenied(error: unknown): boolean {
  return isAppError(error, "TELEPORT") && error.details["grpcCode"] === status.PERMISSION_DENIED;
}

/**
 * `addr` names the server in connection failures that will not heal by waiting (wrong port, CA
 * of another cluster): those stay retryable, but say what they are, with the fix, and carry
 * `details.transport` so that the daemon can refuse to start on them.
 */
export function teleportError(method: string, error: unknown, addr = "the auth server"): AppError {
  if (!isServiceError(error)) return AppError.from(error, "TELEPORT");
  const details = { grpcCode: error.code, method };
  const text = error.details || error.message;
  const lasting = error.code === status.UNAVAILABLE ? transportFailure(text, addr) : undefined;
  if (lasting) {
    return new AppError("TELEPORT", `Teleport ${method} failed: ${lasting.message}`, {
      cause: error,
      details: { ...details, transport: lasting.problem },
      fix: lasting.fix,
      retryable: true,
    });
  }
  switch (error.code) {
    case status.FAILED_PRECONDITION:
      return new AppError("CONFLICT", `Teleport ${method}: ${text}`, { cause: error, details });
    case status.NOT_FOUND:
      return new AppError("NOT_FOUND", `Teleport ${method}: ${text}`, { cause: error, details });
    case status.UNIMPLEMENTED:
      return new AppError("TELEPORT_VERSION", `Teleport ${method} is not implemented by this server`, {
        cause: error,
        details,
      });
    case status.PERMISSION_DENIED:
      return new AppError("TELEPORT", `Teleport denied ${method}: ${text}`, {
        cause: error,
        details,
        fix: permissionFix(text),
      });
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
    case status.ABORTED:
    case status.INTERNAL:
    case status.UNKNOWN:
      return new AppError("TELEPORT", `Teleport ${method} failed: ${text}`, {
        cause: error,
        details,
        retryable: true,
      });
    case status.CANCELLED:
      return new AppError("ABORTED", `Teleport ${method} cancelled`, { cause: error, details });
    default:
      return new AppError("TELEPORT", `Teleport ${method} failed: ${text}`, { cause: error, details });
  }
}

/** Teleport's AccessDenied for a role rule (auth_with_roles.go, TELEPORT-WIRE.md §6). */
const RULE_DENIED = /access denied to perform action "(\w+)" on "(\w+)"/;

/** The rule that a refusal names, else every rule the plugin needs (README, step 3). */
function permissionFix(text: string): string {
  const rule = RULE_DENIED.exec(text);
  const rules = rule
    ? `the rule \`${rule[2]}: [${rule[1]}]\``
    : "the rules `access_request: [list, read, update]`, `access_plugin_data: [update]` and `user: [read]`";
  return `Give the plugin's Teleport role ${rules}; \`teleport-mattermost check\` names every rule it lacks`;
}

/**
 * A call that failed with UNAVAILABLE because no connection could be made says why, with the
 * fix, when the route finder knew it (connection.ts `lastFailure`).
 */
export function withConnectionFailure(
  mapped: AppError,
  failure: AppError | undefined,
  operation: string,
): AppError {
  if (!failure || mapped.details["grpcCode"] !== status.UNAVAILABLE) return mapped;
  return new AppError("TELEPORT", `Teleport ${operation} failed: ${failure.message}`, {
    cause: mapped.cause,
    details: { ...mapped.details, ...failure.details },
    retryable: failure.retryable,
    ...(failure.fix ? { fix: failure.fix } : {}),
  });
}
