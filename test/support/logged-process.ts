/**
 * A child process whose stderr log lines are parsed as they arrive: waits on them, the exit code,
 * and a stop that sends SIGTERM then SIGKILL, so nothing is left behind. Our daemon (JSON lines,
 * daemon-process.ts) and the original Go plugin (text lines, scripts/bench/go-original.ts) differ
 * only in how a line reads.
 */
import type { ChildProcess } from "node:child_process";

export interface LineReading<L> {
  /** The line as `L`, or undefined to skip it. */
  parse(line: string): L | undefined;
  /** Most lines kept (a long run at debug level logs several per request); default all. */
  maxLines?: number;
  /** Most stderr characters kept, the tail; default all. */
  maxStderrChars?: number;
}

export class LoggedProcess<L> {
  readonly lines: L[] = [];
  readonly exited: Promise<number | null>;
  stderrText = "";
  private readonly waiters = new Set<() => void>();

  constructor(
    protected readonly child: ChildProcess,
    reading: LineReading<L>,
  ) {
    const { parse, maxLines = Number.POSITIVE_INFINITY, maxStderrChars } = reading;
    let buffered = "";
    this.child.stderr!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      this.stderrText += text;
      if (maxStderrChars !== undefined) this.stderrText = this.stderrText.slice(-maxStderrChars);
      buffered += text;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const parsed = parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (parsed !== undefined && this.lines.length < maxLines) this.lines.push(parsed);
        newline = buffered.indexOf("\n");
      }
      this.wakeWaiters();
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
    void this.exited.then(() => this.wakeWaiters());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM (a graceful shutdown), then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /**
   * Resolves with what `find` returns once it returns something, checked at every new line;
   * fails with `failure.exited` (plus stderr) if the process exits first, or `failure.timeout`
   * after `timeoutMs`.
   */
  protected waitFor<T>(
    find: () => T | undefined,
    failure: { exited: string; timeout: string },
    timeoutMs: number,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`${failure.exited}\n${this.stderrText}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${failure.timeout}\n${this.stderrText}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private wakeWaiters(): void {
    for (const wake of this.waiters) wake();
  }
}
