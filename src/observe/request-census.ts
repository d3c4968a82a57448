/**
 * Which access requests exist and which are pending, as last seen from the watch and from the
 * catch-up listings, for the requests-seen and pending-requests metrics. It outlives a daemon
 * restart on SIGHUP, so that a reload does not count every open request as seen again.
 */
import type { AccessRequest } from "../core/access-request.js";

export interface CensusListing {
  /** The listing's result: requests it does not hold are gone, unless an event said otherwise meanwhile. */
  finish(requests: readonly AccessRequest[]): void;
  /** The listing failed: forget it. */
  abandon(): void;
}

export class RequestCensus {
  private readonly states = new Map<string, AccessRequest["state"]>();
  /** How many of `states` are PENDING, kept as they change: counting them per event made each event cost O(requests). */
  private pending = 0;
  /** Per listing on its way: ids that events changed meanwhile, which the listing may show stale. */
  private readonly listings = new Set<Set<string>>();

  constructor(
    private readonly onSeen: () => void,
    private readonly onPending: (count: number) => void,
  ) {}

  /** A watch event: the request as it now is, or its id when it was deleted. */
  event(change: { request: AccessRequest } | { deleted: string }): void {
    const id = "request" in change ? change.request.id : change.deleted;
    for (const touched of this.listings) touched.add(id);
    if ("request" in change) this.note([change.request]);
    else this.forget(id);
    this.onPending(this.pending);
  }

  /** Call when a listing of every request starts; events that arrive before it ends win over it. */
  beginListing(): CensusListing {
    const touched = new Set<string>();
    const known = new Set(this.states.keys());
    this.listings.add(touched);
    return {
      finish: (requests) => {
        this.listings.delete(touched);
        const listed = new Set(requests.map((request) => request.id));
        for (const id of known) if (!listed.has(id) && !touched.has(id)) this.forget(id);
        this.note(requests.filter((request) => !touched.has(request.id)));
        this.onPending(this.pending);
      },
      abandon: () => {
        this.listings.delete(touched);
      },
    };
  }

  private note(requests: readonly AccessRequest[]): void {
    for (const request of requests) {
      const before = this.states.get(request.id);
      if (before === undefined) this.onSeen();
      this.pending += pendingCount(request.state) - pendingCount(before);
      this.states.set(request.id, request.state);
    }
  }

  private forget(id: string): void {
    this.pending -= pendingCount(this.states.get(id));
    this.states.delete(id);
  }
}

function pendingCount(state: AccessRequest["state"] | undefined): number {
  return state === "PENDING" ? 1 : 0;
}
