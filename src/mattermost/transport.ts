/**
 * One HTTP(S) exchange with Mattermost through an undici dispatcher (keep-alive pool, extra CAs,
 * forward proxy): bearer token, JSON accepted, one deadline for connecting, sending and reading,
 * a size limit on the answer, read whole as text. Retrying and reading the reply are the client's.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import type { RawResponse } from "./replies.js";

/**
 * Largest response body read; Mattermost's answers to our calls are a few KB. The dispatcher
 * enforces it (undici `maxResponseSize`) while the body arrives.
 */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** undici's error code for a body over `maxResponseSize`. */
const TOO_LARGE_CODE = "UND_ERR_RES_EXCEEDED_MAX_SIZE";
const USER_AGENT = "teleport-mattermost";

/** Connection failures that may well not happen on the next attempt. */
export const RETRYABLE_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "ECONNABORTED",
]);

export interface Exchange {
  url: URL;
  method: string;
  token: string;
  payload: string | undefined;
  dispatcher: Dispatcher;
  /** Past this the request is aborted with code `ETIMEDOUT_REQUEST`. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function exchange(call: Exchange): Promise<RawResponse> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${call.token}`,
    Accept: "application/json",
    "User-Agent": USER_AGENT,
  };
  if (call.payload !== undefined) headers["Content-Type"] = "application/json";
  // One deadline for connecting, sending and reading, whichever takes the time.
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    const error = new Error("request timed out") as NodeJS.ErrnoException;
    error.code = "ETIMEDOUT_REQUEST";
    deadline.abort(error);
  }, call.timeoutMs);
  try {
    const response = await call.dispatcher.request({
      origin: call.url.origin,
      path: `${call.url.pathname}${call.url.search}`,
      method: call.method as Dispatcher.HttpMethod,
      headers,
      body: call.payload,
      signal: call.signal ? AbortSignal.any([call.signal, deadline.signal]) : deadline.signal,
    });
    return {
      status: response.statusCode,
      headers: response.headers as IncomingHttpHeaders,
      body: await response.body.text(),
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === TOO_LARGE_CODE)
      throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
