/**
 * The daemon's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * two daemons in one process, as in tests, do not share counters). Calls are measured where
 * they happen, through the clients' observers; what only the app knows (requests seen, clicks,
 * decisions) it reports through the methods here.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RequestState } from "../core/access-request.js";
import type { CallObserver } from "../lib/call-observer.js";
import { RequestCensus } from "./request-census.js";

const PREFIX = "teleport_mattermost_";
/** Call latencies: Mattermost and Teleport answer in milliseconds, or time out at 10 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * How often the event-loop lag histogram samples. prom-client's default (10 ms) wakes an idle
 * daemon 100 times a second, which cost ~6 ms of CPU a second here doing nothing; a stall long
 * enough to matter still shows at one sample a second.
 */
const EVENT_LOOP_SAMPLE_MS = 1_000;
/** The Mattermost routes whose success means a post was created or updated. */
const CREATE_POST = "POST /posts";
const PATCH_POST = "PUT /posts/{id}/patch";

/** The request's state right after the decision: a review may leave it pending. */
export type DecisionOutcome = RequestState;
/** How the decision reached Teleport: a review on behalf of the user, or a state change. */
export type DecisionMode = "review" | "state" | "unknown";

export class Metrics {
  readonly registry = new Registry();
  /** Reports of Teleport calls: latency by method, failures by gRPC status. */
  readonly teleportCalls: CallObserver;
  /** Reports of Mattermost calls: latency by route, failures by HTTP status or error code. */
  readonly mattermostCalls: CallObserver;
  /** Feeds the requests-seen and pending-requests metrics from watch events and listings. */
  readonly requests: RequestCensus;

  private readonly requestsSeen: Counter;
  private readonly pendingRequests: Gauge;
  private readonly postsCreated: Counter;
  private readonly postsUpdated: Counter;
  private readonly decisions: Counter<"outcome" | "mode">;
  private readonly refusedClicks: Counter<"reason">;
  private readonly retries: Counter<"target" | "reason">;
  private readonly watchReconnects: Counter;
  private readonly teleportDrops: Counter;
  private readonly identityExpiry: Gauge;

  constructor(version: string) {
    const registers = [this.registry];
    collectDefaultMetrics({
      register: this.registry,
      prefix: PREFIX,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    new Gauge({
      name: `${PREFIX}build_info`,
      help: "Always 1; the version label says which release runs",
      labelNames: ["version"],
      registers,
    }).set({ version }, 1);
    this.requestsSeen = new Counter({
      name: `${PREFIX}requests_seen_total`,
      help: "Access requests this process learned of (from the watch or the catch-up listing)",
      registers,
    });
    this.pendingRequests = new Gauge({
      name: `${PREFIX}pending_requests`,
      help: "Access requests in state PENDING, as last seen from Teleport",
      registers,
    });
    this.postsCreated = new Counter({
      name: `${PREFIX}posts_created_total`,
      help: "Mattermost posts created: request posts, thread replies and direct messages",
      registers,
    });
    this.postsUpdated = new Counter({
      name: `${PREFIX}posts_updated_total`,
      help: "Mattermost posts updated through the API (click replies update the clicked post without a call)",
      registers,
    });
    this.decisions = new Counter({
      name: `${PREFIX}decisions_total`,
      help: "Decisions applied in Teleport from Mattermost, by the state they left (approved, denied, pending) and how (review, state)",
      labelNames: ["outcome", "mode"],
      registers,
    });
    this.refusedClicks = new Counter({
      name: `${PREFIX}refused_clicks_total`,
      help: "Button clicks and dialog submissions refused, by reason (bad signature, wrong post, not pending …)",
      labelNames: ["reason"],
      registers,
    });
    this.retries = new Counter({
      name: `${PREFIX}retries_total`,
      help: "Calls tried again, by target (teleport, mattermost) and reason",
      labelNames: ["target", "reason"],
      registers,
    });
    this.watchReconnects = new Counter({
      name: `${PREFIX}watch_reconnects_total`,
      help: "Times the Teleport watch stream ended or failed and was opened again",
      registers,
    });
    this.teleportDrops = new Counter({
      name: `${PREFIX}teleport_connection_drops_total`,
      help: "Connections to Teleport closed because they stopped answering while a new one answered",
      registers,
    });
    this.identityExpiry = new Gauge({
      name: `${PREFIX}identity_expiry_timestamp_seconds`,
      help: "When the Teleport client certificate expires, in seconds since the epoch",
      registers,
    });
    this.requests = new RequestCensus(
      () => this.requestsSeen.inc(),
      (count) => this.pendingRequests.set(count),
    );
    this.teleportCalls = callMetrics(this.registry, "teleport", "method");
    const mattermostLatency = callMetrics(this.registry, "mattermost", "route");
    this.mattermostCalls = {
      call: (report) => {
        mattermostLatency.call(report);
        if (report.outcome !== "ok") return;
        if (report.operation === CREATE_POST) this.postsCreated.inc();
        if (report.operation === PATCH_POST) this.postsUpdated.inc();
      },
    };
  }

  decision(outcome: DecisionOutcome, mode: DecisionMode): void {
    this.decisions.inc({ outcome: outcome.toLowerCase(), mode });
  }

  refusedClick(reason: string): void {
    this.refusedClicks.inc({ reason });
  }

  retry(target: "teleport" | "mattermost", reason: string): void {
    this.retries.inc({ target, reason });
  }

  watchReconnect(): void {
    this.watchReconnects.inc();
  }

  teleportConnectionDropped(): void {
    this.teleportDrops.inc();
  }

  setIdentityExpiry(notAfter: Date): void {
    this.identityExpiry.set(notAfter.getTime() / 1000);
  }

  /** The text a Prometheus scrape gets. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A latency histogram and an error counter for one service's calls. */
function callMetrics(registry: Registry, service: "teleport" | "mattermost", label: string): CallObserver {
  const what = service === "teleport" ? "Teleport gRPC calls" : "Mattermost API requests";
  const latency = new Histogram({
    name: `${PREFIX}${service}_request_duration_seconds`,
    help: `Duration of ${what}, by ${label}`,
    labelNames: [label],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: `${PREFIX}${service}_request_errors_total`,
    help: `Failed ${what}, by ${label} and code (${service === "teleport" ? "gRPC status" : "HTTP status or network error"})`,
    labelNames: [label, "code"],
    registers: [registry],
  });
  // One child per operation (a fixed set of methods or routes): observe(labels, …) would hash
  // the labels on every call.
  const byOperation = new Map<string, { observe(seconds: number): void }>();
  return {
    call: ({ operation, seconds, outcome }) => {
      let child = byOperation.get(operation);
      if (!child) {
        child = latency.labels({ [label]: operation });
        byOperation.set(operation, child);
      }
      child.observe(seconds);
      if (outcome !== "ok") errors.inc({ [label]: operation, code: outcome });
    },
  };
}
