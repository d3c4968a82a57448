/**
 * Timers the stand-in owns (answer delays, restart downtime), so `stop()` can end them at once
 * and nothing outlives the stand-in. Not Teleport behaviour: test hygiene.
 */
export class Timers {
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();
  private ended = false;

  /** True once `stopAll()` ran: nothing new should start. */
  get stopped(): boolean {
    return this.ended;
  }

  /** A timer `stopAll()` cuts short. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeps.delete(timer);
        resolve();
      }, ms);
      this.sleeps.set(timer, resolve);
    });
  }

  stopAll(): void {
    this.ended = true;
    for (const [timer, wake] of this.sleeps) {
      clearTimeout(timer);
      wake();
    }
    this.sleeps.clear();
  }
}
