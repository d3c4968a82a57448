/**
 * What every phase shares: one fresh site per contender (so one's leftovers never colour the
 * other's figures), rounds interleaved between the contenders (the machine's load changes
 * during a run; interleaving spreads it over both), and everything stopped at the end, also when
 * a phase fails.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BenchSite, type Contender, type SiteOptions, type StartedDaemon } from "./site.js";

/** Rounds of each repeated measurement; a figure is the median over them. */
export const ROUNDS = 3;

export type PerContender<T> = Partial<Record<Contender, T>>;

export interface Bench {
  /** The contenders in this run: ours, and the original when its binary is there. */
  contenders: Contender[];
  log: (line: string) => void;
}

export interface Arena {
  site: BenchSite;
  daemons: StartedDaemon[];
}

/** Runs `body` with a fresh site per contender; stops every daemon and site afterwards. */
export async function withSites<T>(
  bench: Bench,
  options: SiteOptions,
  body: (arenas: Map<Contender, Arena>) => Promise<T>,
): Promise<T> {
  const arenas = new Map<Contender, Arena>();
  try {
    for (const contender of bench.contenders) {
      arenas.set(contender, { site: await BenchSite.create(options), daemons: [] });
    }
    return await body(arenas);
  } finally {
    for (const { site, daemons } of arenas.values()) {
      for (const daemon of daemons) await daemon.stop().catch(() => undefined);
      await site.stop();
    }
  }
}

/** Starts a daemon in the arena, remembering it so that withSites stops it on failure. */
export async function startIn(
  arena: Arena,
  contender: Contender,
  options: { readyByLog?: boolean } = {},
): Promise<StartedDaemon> {
  const daemon = await arena.site.startDaemon(contender, options);
  arena.daemons.push(daemon);
  return daemon;
}

/** Stops a daemon started with startIn; fails when it did not exit cleanly. */
export async function stopIn(arena: Arena, daemon: StartedDaemon): Promise<void> {
  arena.daemons.splice(arena.daemons.indexOf(daemon), 1);
  await daemon.stop();
}

/** Creates `count` requests at `perSec`, on schedule (no drift); returns id → performance.now() of creation. */
export async function createPaced(
  site: BenchSite,
  count: number,
  perSec: number,
): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  const intervalMs = 1000 / perSec;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const at = performance.now();
    created.set(site.createRequest(), at);
  }
  return created;
}
