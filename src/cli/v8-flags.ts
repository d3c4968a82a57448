/**
 * V8 settings for a small long-running daemon.
 *
 * Garbage collector and WebAssembly (applyHeapFlags), applied by the entry point (loader.ts)
 * before it compiles the bundle and after it loaded Node's own modules (it says why). V8's defaults favour
 * throughput: the young generation grows to 32 MB under load, and the old generation may grow
 * to four times what is live before a full collection. Each call's HTTP/2 stream and its call
 * objects outlive a scavenge (native handles hold them), so under load the old generation fills
 * with garbage up to that limit, and V8 keeps the memory: 10,000 requests as fast as the daemon
 * took them left RSS ~100 MB above idle, for good, with 7 MB of it live (npm run bench). With
 * the young generation kept at its initial size and the old one growing by at most half before
 * a full collection: peak +32 MB, +13 MB once idle again, idle itself 3 MB lower, for up to ~15
 * % more CPU per request at full load and no more at 50 requests/s (where shorter pauses also
 * lower p99 latency).
 *
 * Both flags are heuristics V8 reads at each collection, so setting them at run time is safe; a
 * future V8 without them prints a warning and keeps its defaults.
 *
 * WebAssembly stays on V8's baseline compiler (Liftoff): the only wasm the daemon runs is
 * undici's HTTP parser (llhttp), and tiering it up to TurboFan after the first Mattermost calls
 * kept 9 MB (and at start, with scrypt's buffer in the way, up to 35 MB) of RSS for parsing a
 * few small answers a second (npm run bench: idle RSS 105 → 70 MB).
 */
import { setFlagsFromString } from "node:v8";

export function applyHeapFlags(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString("--heap-growing-percent=50");
  setFlagsFromString("--liftoff-only");
}

/**
 * Bytecode a function runs before V8 considers optimizing it: a quarter of V8 11's default
 * (Node 20, `node --v8-options`: --interrupt-budget=67584).
 */
export const SERVING_INTERRUPT_BUDGET = 16_896;
/** Calls after a change of one of its inline caches before a function may be optimized (default 500). */
export const SERVING_INVOCATIONS_AFTER_IC_UPDATE = 125;
/**
 * The V8 these were measured on (Node 20, which the single executable ships). V8 12 (Node 22) has
 * no --interrupt-budget (V8 prints "unrecognized flag" on stderr, outside the log) and a mid tier
 * (Maglev) of its own between baseline code and TurboFan: there the defaults stay.
 */
const SERVING_FLAGS_V8_MAJOR = 11;

let servingFlagsApplied = false;

/**
 * Has V8 optimize hot functions sooner, once the daemon has started and caught up. A request
 * runs each of a few hundred functions once or twice; at V8 11's defaults, made for web pages
 * where most code runs briefly, they stay in the interpreter and baseline code for the first
 * several hundred requests (perf at 50 requests/s: 3 % of the CPU in optimized code). Measured
 * against the same build without them, interleaved: bursts of 200 after 950 requests 2.4–4.05 →
 * 2.0–2.9 ms of CPU per request and 10–25 % shorter; 10,000 as fast as handled 2.33 → 1.71 ms,
 * 427 → 571 requests/s. Not from the start: there they made the catch-up of 1,000 pending
 * requests 10–25 % slower (compiling code that runs once) and idle RSS 2 MB larger (the compiler
 * threads' memory). V8 reads both at each tier-up check, so setting them late works; the code
 * caches were checked when their code was compiled (and the build writes the bundle's before this
 * runs: a cache made with these flags would be refused at every start).
 *
 * Returns true when the flags were set now: the first call, on the V8 they were measured on.
 */
export function applyServingFlags(v8Version: string = process.versions.v8): boolean {
  if (servingFlagsApplied || Number.parseInt(v8Version, 10) !== SERVING_FLAGS_V8_MAJOR) return false;
  servingFlagsApplied = true;
  setFlagsFromString(`--interrupt-budget=${SERVING_INTERRUPT_BUDGET}`);
  setFlagsFromString(`--minimum-invocations-after-ic-update=${SERVING_INVOCATIONS_AFTER_IC_UPDATE}`);
  return true;
}
