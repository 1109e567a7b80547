/**
 * How much engine work one session may have going at once. The engine and the server are shared
 * by the class; unbounded, one student's pipelined or parallel requests become the engine's
 * memory (each answer is built whole in dockerd before it is sent) and everyone's latency.
 *
 * - `Semaphore`: at most N requests of a session handled at once, across all its connections;
 *   the rest wait their turn (bounded by the proxy's connection limit, one per connection).
 * - `Mutex`: one quota check and the create it guards at a time, so parallel creates cannot all
 *   read the same count before any of them lands.
 * - `RateBudget`: a token bucket for work the engine does outside every cgroup (exec: a runc
 *   process per call); a request over budget waits for its token instead of being refused.
 */

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Resolves with a release function once a slot is free; release is idempotent. */
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight on
      else this.active--;
    };
  }

  get inUse(): number {
    return this.active;
  }
}

export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every earlier `run` has settled. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class RateBudget {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();
  private readonly perSecond: number;
  private readonly burst: number;

  constructor(perSecond: number, burst: number) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.tokens = burst;
  }

  /** Waits until the work may go (in order of arrival). */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000)),
        );
        this.refill();
      }
      this.tokens -= 1;
    });
    this.queue = turn;
    return turn;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
}
