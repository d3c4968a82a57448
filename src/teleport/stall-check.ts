/**
 * Notices a connection to the auth server that stopped answering while calls wait on it, and has
 * it dropped so grpc-js connects again, instead of leaving every call to its deadline until the
 * keepalive gives up (KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS: up to 100 s). Two causes seen:
 * a peer gone without its FIN or RST reaching us (a NAT or firewall forgot the flow), and Node
 * 20's HTTP/2 over TLS missing the peer's reset while a write was in flight (the socket stops
 * reading and the session stays open, as in nodejs/node#61304; Teleport restarted during a burst
 * of 64 calls at once left calls hanging ~50 s in 3 of 15 runs).
 *
 * When unary calls have waited STALL_MS with nothing answered, Teleport is pinged twice at once:
 * on the connection the calls wait on and on a new connection of the probe's own. Only when the
 * new connection answers and the old one does not is the old one dropped: a Teleport that is
 * merely slow (both late) or unreachable (neither answers) keeps its connection, as dropping it
 * would only fail the calls waiting on it and the watch.
 */

/** Calls waiting this long with no answer on the connection make it suspect. */
export const STALL_MS = 3_000;
/** Deadline of each probe Ping. */
export const PROBE_TIMEOUT_MS = 2_000;
/** How often a suspect connection is looked for while calls wait. */
const CHECK_INTERVAL_MS = 1_000;

/** How each Ping of a probe ended: an answer of any kind, or none within PROBE_TIMEOUT_MS. */
export type ProbeResult = "answered" | "no answer";

export interface StallProbe {
  /** The Ping on the connection the calls wait on. */
  current: ProbeResult;
  /** The Ping on a connection opened for it. */
  fresh: ProbeResult;
  /**
   * Drops the connections that were open when the probe started (not one made since), returning
   * how many were still open.
   */
  dropSuspects: () => number;
}

export interface StallCheckOptions {
  /** Pings as StallProbe says, each with PROBE_TIMEOUT_MS as its deadline. */
  probe: () => Promise<StallProbe>;
  /** A connection was dropped after calls waited `waitedMs` with no answer. */
  dropped: (waitedMs: number) => void;
  now?: () => number;
  checkIntervalMs?: number;
}

export class StallCheck {
  private inFlight = 0;
  /** When the connection last answered a call, or calls started waiting, whichever is later. */
  private progressAt = 0;
  private probing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: StallCheckOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** A unary call (or a listing stream) was sent. */
  callStarted(): void {
    if (this.closed || this.inFlight++ > 0) return;
    this.progressAt = this.now();
    // One timer for a run of calls, stopped by the first check that finds none waiting: at tens of
    // calls a second, not one timer per call.
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs ?? CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** The connection answered something (a listing's next message). */
  progress(): void {
    this.progressAt = this.now();
  }

  /** A call ended; `answered` unless it ran out of time waiting for the server. */
  callEnded(answered: boolean): void {
    if (this.closed) return;
    if (answered) this.progressAt = this.now();
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** Stops checking for good (the client closed). */
  close(): void {
    this.closed = true;
    this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.closed || this.inFlight === 0) {
      this.stopTimer();
      return;
    }
    if (this.probing || this.now() - this.progressAt < STALL_MS) return;
    this.probing = true;
    try {
      const probe = await this.options.probe();
      if (this.closed) return;
      if (probe.current === "no answer" && probe.fresh === "answered" && this.inFlight > 0) {
        const waited = this.now() - this.progressAt;
        if (probe.dropSuspects() > 0) this.options.dropped(waited);
      }
      // Either way the connection gets STALL_MS again: it answered, a new one is on its way, or
      // Teleport is slow or away for every connection alike.
      this.progressAt = this.now();
    } catch {
      // A probe that cannot be sent (the client is closing) decides nothing.
    } finally {
      this.probing = false;
    }
  }
}
