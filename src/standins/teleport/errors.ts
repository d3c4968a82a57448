/**
 * Errors as Teleport puts them on the wire: the server maps its trace errors to gRPC statuses
 * with `trail.ToGRPC` (WIRE §6; gravitational/trace trail/trail.go): NotFound → NOT_FOUND,
 * AlreadyExists → ALREADY_EXISTS, AccessDenied → PERMISSION_DENIED, CompareFailed →
 * FAILED_PRECONDITION, BadParameter → INVALID_ARGUMENT, NotImplemented → UNIMPLEMENTED, anything
 * else → UNKNOWN. The message is the details string, unchanged.
 */
import { status } from "@grpc/grpc-js";

/**
 * A failure with the gRPC status Teleport's `trail.ToGRPC` would send (WIRE §6). The tctl-like
 * API throws these too, so tests can assert the same codes either way.
 */
export class TeleportStandinError extends Error {
  override readonly name = "TeleportStandinError";
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

export const notFound = (details: string) => new TeleportStandinError(status.NOT_FOUND, details);
export const alreadyExists = (details: string) => new TeleportStandinError(status.ALREADY_EXISTS, details);
export const accessDenied = (details: string) => new TeleportStandinError(status.PERMISSION_DENIED, details);
export const compareFailed = (details: string) =>
  new TeleportStandinError(status.FAILED_PRECONDITION, details);
export const badParameter = (details: string) => new TeleportStandinError(status.INVALID_ARGUMENT, details);
export const notImplemented = (details: string) => new TeleportStandinError(status.UNIMPLEMENTED, details);

export function toStandinError(error: unknown): TeleportStandinError {
  if (error instanceof TeleportStandinError) return error;
  // Anything unexpected is trace's "anything else" → UNKNOWN (WIRE §6).
  return new TeleportStandinError(status.UNKNOWN, error instanceof Error ? error.message : String(error));
}
