/**
 * A per-session budget for one kind of work the server does on a student's behalf: so many run
 * at once, so many more wait their turn, the rest are refused at once. One student's loop of
 * requests then costs the server and the engine a bounded amount, whatever its rate.
 */
export class WorkBudget {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  readonly concurrent: number;
  readonly queued: number;

  constructor(concurrent: number, queued: number) {
    this.concurrent = concurrent;
    this.queued = queued;
  }

  /** Runs `work` when a slot is free; undefined (nothing run) when the queue is full too. */
  async run<T>(work: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.running >= this.concurrent) {
      if (this.waiting.length >= this.queued) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return { value: await work() };
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight on
      else this.running--;
    }
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
