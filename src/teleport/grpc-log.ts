/**
 * grpc-js writes its own errors ("E Failed to connect to … through proxy … with status 403")
 * with console.error: outside the log format (a line that is not JSON under `[log] format =
 * "json"`), past `[log] output`, and in the middle of `check`'s lines. The failure they describe
 * reaches the operator as the call's error, with the fix (client.ts, forward-proxy.ts), so they
 * go to the daemon's log at debug level, and nowhere without a logger.
 */
import { format } from "node:util";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

/** Sends grpc-js's log lines to `logger` at debug, or drops them when there is none. */
export function routeGrpcLogs(logger: Pick<Logger, "debug"> | undefined): void {
  const write = (message?: unknown, ...rest: unknown[]) => {
    logger?.debug({ source: "grpc-js" }, format(message, ...rest));
  };
  grpc.setLogger({ error: write, info: write, debug: write });
}
