/**
 * Whether the daemon can do its job right now: its Teleport watch is live and Mattermost
 * answers. /readyz reports it; the reason says what is missing, in the operator's words.
 */
import type { CallObserver } from "../lib/call-observer.js";

export interface ReadinessStatus {
  ready: boolean;
  teleport: "starting" | "connected" | "disconnected";
  mattermost: "unknown" | "answering" | "failing";
  /** Why it is not ready; absent when ready. */
  reason?: string;
}

export class Readiness {
  private teleport: ReadinessStatus["teleport"] = "starting";
  private teleportProblem = "connecting to Teleport";
  private mattermost: ReadinessStatus["mattermost"] = "unknown";
  private mattermostProblem = "Mattermost has not been called yet";
  private readonly recoveryListeners = new Set<() => void>();
  /** Set once the plugin's Teleport certificate has expired: what to tell, with the fix. */
  private identityProblem: string | undefined;

  /** Counts Mattermost as answering after any HTTP answer but a 5xx, failing after none. */
  readonly mattermostCalls: CallObserver = {
    call: ({ operation, outcome }) => {
      if (outcome === "ok" || /^[1-4]\d\d$/.test(outcome)) {
        const recovered = this.mattermost === "failing";
        this.mattermost = "answering";
        if (recovered) for (const listener of this.recoveryListeners) listener();
      } else if (outcome !== "ABORTED") {
        this.mattermost = "failing";
        this.mattermostProblem = `Mattermost ${operation} failed: ${outcome}`;
      }
    },
  };

  /** Calls `listener` whenever Mattermost answers again after failing; returns the unsubscribe. */
  onMattermostRecovered(listener: () => void): () => void {
    this.recoveryListeners.add(listener);
    return () => this.recoveryListeners.delete(listener);
  }

  /** The plugin's Teleport certificate expired: not ready until a renewed one is loaded. */
  identityExpired(problem: string): void {
    this.identityProblem = problem;
  }

  /** A (re)started daemon with a valid identity. */
  identityValid(): void {
    this.identityProblem = undefined;
  }

  watchConnected(): void {
    this.teleport = "connected";
  }

  watchDisconnected(problem: string): void {
    this.teleport = "disconnected";
    this.teleportProblem = problem;
  }

  status(): ReadinessStatus {
    const reasons: string[] = [];
    if (this.identityProblem) reasons.push(this.identityProblem);
    if (this.teleport !== "connected") reasons.push(`Teleport watch not connected: ${this.teleportProblem}`);
    if (this.mattermost !== "answering") reasons.push(this.mattermostProblem);
    return {
      ready: reasons.length === 0,
      teleport: this.teleport,
      mattermost: this.mattermost,
      ...(reasons.length > 0 ? { reason: reasons.join("; ") } : {}),
    };
  }

  /** True while Mattermost's last answer was a failure (the daemon then checks it again). */
  get mattermostFailing(): boolean {
    return this.mattermost === "failing";
  }
}
