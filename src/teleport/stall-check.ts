/**
 * Notices a connection to the auth server that stopped answering while calls wait on it, and has
 * it dropped so grpc-js connects again, instead of leaving every call to its deadline until the
 * keepalive gives up (KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS: up to 100 s). Two causes seen:
 * a peer gone without its FIN or RST reaching us (a NAT or firewall forgot the flow), and Node
 * 20's HTTP/2 over TLS missing the peer's reset while a write was in flight (the socket stops
 * reading and the session stays open: nodejs/node#61304; Teleport restarted during a burst of 64
 * calls at once left calls hanging ~50 s in 1 of 5 runs).
 *
 * When unary calls have waited STALL_MS with nothing answered, a Ping is sent (Teleport answers
 * it from memory, however slow its backend); if it gets no answer within PROBE_TIMEOUT_MS either,
 * the connection is dropped. A long call on a live connection only costs a Ping now and then.
 */

/** Calls waiting this long with no answer on the connection make it suspect. */
export const STALL_MS = 3_000;
/** A suspect connection whose Ping is not answered within this is dropped. */
export const PROBE_TIMEOUT_MS = 2_000;
/** How often a suspect connection is looked for while calls wait. */
const CHECK_INTERVAL_MS = 1_000;

export type ProbeResult = "answered" | "no answer";

export interface StallCheckOptions {
  /** Sends a Ping on the connection the calls wait on, with PROBE_TIMEOUT_MS as its deadline. */
  probe: () => Promise<ProbeResult>;
  /** Drops the connection (grpc-js fails its calls and connects again). */
  drop: (waitedMs: number) => void;
  now?: () => number;
  checkIntervalMs?: number;
}

export class StallCheck {
  private inFlight = 0;
  /** When the connection last answered a call, or calls started waiting, whichever is later. */
  private progressAt = 0;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: StallCheckOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** A unary call was sent. */
  callStarted(): void {
    if (this.inFlight++ > 0) return;
    this.progressAt = this.now();
    // One timer for a run of calls, stopped by the first check that finds none waiting: at tens of
    // calls a second, not one timer per call.
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs ?? CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** A unary call ended; `answered` unless it ran out of time waiting for the server. */
  callEnded(answered: boolean): void {
    if (answered) this.progressAt = this.now();
    this.inFlight--;
  }

  /** Stops checking (the client closed). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.inFlight === 0) {
      this.close();
      return;
    }
    if (this.probing) return;
    const waited = this.now() - this.progressAt;
    if (waited < STALL_MS) return;
    this.probing = true;
    try {
      const result = await this.options.probe();
      if (result === "no answer" && this.inFlight > 0) this.options.drop(this.now() - this.progressAt);
      // Either way the connection gets STALL_MS again: it answered, or a new one is on its way.
      this.progressAt = this.now();
    } finally {
      this.probing = false;
    }
  }
}
