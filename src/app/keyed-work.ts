/**
 * Runs work per key (access request id): in order for one key, concurrently across keys up to a
 * bound. Work for a key that is already queued is coalesced, because every run reads the
 * current state from Teleport anyway: only the latest input for a key matters. So memory stays
 * bounded by the number of distinct keys in flight, whatever the event rate.
 */
export class KeyedWork<T> {
  private readonly latest = new Map<string, T>();
  private readonly ready: string[] = [];
  private readonly running = new Set<string>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly run: (key: string, input: T) => Promise<void>,
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  /** Queues `input` for `key`, replacing any input for that key not yet started. */
  push(key: string, input: T): void {
    const queued = this.latest.has(key);
    this.latest.set(key, input);
    if (!queued && !this.running.has(key)) this.ready.push(key);
    this.pump();
  }

  get size(): number {
    return this.latest.size + this.running.size;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      const input = this.latest.get(key) as T;
      this.latest.delete(key);
      this.running.add(key);
      void this.run(key, input)
        .catch((error: unknown) => this.onError(key, error))
        .finally(() => {
          this.running.delete(key);
          // Input that arrived while running waits for this run to end: order per key.
          if (this.latest.has(key)) this.ready.push(key);
          this.pump();
          if (this.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }
}
