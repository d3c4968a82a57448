/**
 * A Teleport watch read in the background until the test ends, for tests about the connection
 * under it (keepalive, stalls): they only need to know whether, and why, it ended.
 */
import type { TestContext } from "node:test";
import type { TeleportClient } from "../../src/teleport/client.js";

/** Starts reading `client`'s watch; the returned function says why it ended (undefined: still open). */
export function watchInBackground(t: TestContext, client: TeleportClient): () => unknown {
  const stop = new AbortController();
  let failure: unknown;
  const watching = (async () => {
    for await (const _event of client.watchRequests(stop.signal)) {
      // INIT, then whatever happens: only the end matters here.
    }
    failure ??= new Error("the watch ended");
  })().catch((error: unknown) => {
    failure = error;
  });
  t.after(async () => {
    stop.abort();
    await watching;
  });
  return () => failure;
}
