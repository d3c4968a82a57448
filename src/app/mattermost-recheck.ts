/**
 * Mattermost is only called when something happens, so after a failure nothing would find out
 * that it answers again and /readyz would stay 503. While its last answer was a failure, this
 * asks it who the bot is now and then; the client's call observer updates readiness.
 */
import type { MattermostClient } from "../mattermost/client.js";
import type { Readiness } from "../observe/readiness.js";

/** While Mattermost's last answer was a failure, it is asked again this often (for /readyz). */
export const MATTERMOST_RECHECK_MS = 15_000;

/** Rechecks until `signal` aborts; one question at a time. */
export function recheckMattermostWhileFailing(
  mattermost: MattermostClient,
  readiness: Readiness,
  signal: AbortSignal,
): void {
  let rechecking = false;
  const timer = setInterval(() => {
    if (rechecking || !readiness.mattermostFailing) return;
    rechecking = true;
    void mattermost
      .getMe(signal)
      .catch(() => undefined)
      .finally(() => {
        rechecking = false;
      });
  }, MATTERMOST_RECHECK_MS);
  timer.unref();
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}
