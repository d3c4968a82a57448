/**
 * Garbage collector and WebAssembly settings for a small long-running daemon, applied by the
 * entry point (loader.ts) before it compiles the bundle and after it loaded Node's own modules
 * (it says why). V8's defaults favour
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
