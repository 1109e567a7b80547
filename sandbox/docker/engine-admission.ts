/**
 * How many container starts the engine is asked to do at once, across every session.
 *
 * Why: a container start is the engine's heaviest work (runc, the network hook it re-executes,
 * iptables, a new shim), all of it host processes outside any session's cgroup. Twenty students
 * looping `docker run` kept both cores of the reference machine busy with it, and every
 * student's terminal echo waited behind it (p99 150–210 ms). Admitting one start at a time on
 * those two cores brought the same class's echo p99 to 22–26 ms (two at a time: 48–54 ms); the
 * starts queue instead (docs/benchmarks.md has the figures and the class's container throughput).
 *
 * Waiting starts are taken session by session in turn, so one session firing many starts at once
 * (compose, a loop with &) waits behind its own queue, not in front of everyone else's.
 */
export class EngineAdmission {
  readonly slots: number;
  /** A slot is given back after this long even if its start has not answered (a wedged engine call must not stop the class). */
  readonly holdLimitMs: number;
  private running = 0;
  /** Waiters by owner; a Map keeps insertion order, which is the order owners get their turn. */
  private readonly queues = new Map<string, Array<() => void>>();

  /** After this long in line, the waiter is told (so a student can be told why `docker run` hangs). */
  readonly longWaitMs: number;

  constructor(slots: number, holdLimitMs = 30_000, longWaitMs = 2000) {
    if (!Number.isInteger(slots) || slots < 1)
      throw new Error(`engine admission needs at least one slot, not ${slots}`);
    this.slots = slots;
    this.holdLimitMs = holdLimitMs;
    this.longWaitMs = longWaitMs;
  }

  /**
   * Runs `work` once a slot is free and `owner`'s turn has come; `onLongWait` is called once if
   * that takes longer than `longWaitMs`, with the number of starts then waiting.
   */
  async run<T>(
    owner: string,
    work: () => Promise<T>,
    onLongWait?: (waiting: number) => void,
  ): Promise<T> {
    const admitted = this.acquire(owner);
    const longWait = onLongWait
      ? setTimeout(() => onLongWait(this.load.waiting), this.longWaitMs)
      : undefined;
    longWait?.unref();
    await admitted;
    clearTimeout(longWait);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.release();
    };
    const timer = setTimeout(release, this.holdLimitMs);
    timer.unref();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Starts now running, and starts waiting for a slot. */
  get load(): { running: number; waiting: number } {
    let waiting = 0;
    for (const queue of this.queues.values()) waiting += queue.length;
    return { running: this.running, waiting };
  }

  private acquire(owner: string): Promise<void> {
    if (this.running < this.slots && this.queues.size === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.queues.get(owner);
      if (queue) queue.push(resolve);
      else this.queues.set(owner, [resolve]);
    });
  }

  private release(): void {
    this.running--;
    const next = this.queues.entries().next();
    if (next.done) return;
    const [owner, queue] = next.value;
    const wake = queue.shift()!;
    // This owner has had its turn: it goes to the back of the line if it still waits.
    this.queues.delete(owner);
    if (queue.length > 0) this.queues.set(owner, queue);
    this.running++;
    wake();
  }
}
