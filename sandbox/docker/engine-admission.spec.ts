import { describe, expect, it } from "vitest";
import { EngineAdmission } from "./engine-admission.ts";

/** A piece of work that finishes when the test says so, recording when it began. */
function gated(log: string[], name: string): { work: () => Promise<string>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    work: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("engine admission", () => {
  it("runs at most `slots` pieces of work at once", async () => {
    const admission = new EngineAdmission(2);
    const log: string[] = [];
    const a = gated(log, "a"),
      b = gated(log, "b"),
      c = gated(log, "c");
    const results = [
      admission.run("s1", a.work),
      admission.run("s2", b.work),
      admission.run("s3", c.work),
    ];
    await tick();
    expect(log).toEqual(["a", "b"]);
    expect(admission.load).toEqual({ running: 2, waiting: 1 });
    a.finish();
    await tick();
    expect(log).toEqual(["a", "b", "c"]);
    b.finish();
    c.finish();
    expect(await Promise.all(results)).toEqual(["a", "b", "c"]);
    expect(admission.load).toEqual({ running: 0, waiting: 0 });
  });

  it("takes waiting sessions in turn, so one session's burst does not go before the others", async () => {
    const admission = new EngineAdmission(1);
    const log: string[] = [];
    const first = gated(log, "busy-0");
    const all = [admission.run("busy", first.work)];
    const rest: Array<ReturnType<typeof gated>> = [];
    for (let i = 1; i <= 3; i++) rest.push(gated(log, `busy-${i}`));
    const other = gated(log, "other-0");
    for (const g of rest) all.push(admission.run("busy", g.work));
    all.push(admission.run("other", other.work));
    await tick();
    first.finish();
    await tick();
    rest[0]!.finish();
    await tick();
    // "other" asked after three of busy's starts, yet runs right after busy's next one.
    expect(log).toEqual(["busy-0", "busy-1", "other-0"]);
    other.finish();
    for (const g of rest.slice(1)) {
      await tick();
      g.finish();
    }
    await Promise.all(all);
    expect(log).toEqual(["busy-0", "busy-1", "other-0", "busy-2", "busy-3"]);
  });

  it("gives the slot back when the work fails", async () => {
    const admission = new EngineAdmission(1);
    await expect(
      admission.run("s1", async () => {
        throw new Error("engine said no");
      }),
    ).rejects.toThrow("engine said no");
    expect(await admission.run("s1", async () => "next")).toBe("next");
  });

  it("gives the slot back after the hold limit even if the work never answers", async () => {
    const admission = new EngineAdmission(1, 50);
    void admission.run("wedged", () => new Promise<never>(() => {}));
    const started = Date.now();
    expect(await admission.run("s2", async () => "ran")).toBe("ran");
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it("tells a waiter that waits long, once, and not one admitted at once", async () => {
    const admission = new EngineAdmission(1, 30_000, 30);
    const told: Array<[string, number]> = [];
    const log: string[] = [];
    const holder = gated(log, "holder");
    const first = admission.run("a", holder.work, (n) => told.push(["a", n]));
    const second = admission.run(
      "b",
      async () => "b",
      (n) => told.push(["b", n]),
    );
    await new Promise((resolve) => setTimeout(resolve, 80));
    holder.finish();
    await Promise.all([first, second]);
    expect(told).toEqual([["b", 1]]);
  });

  it("refuses a slot count that admits nothing", () => {
    expect(() => new EngineAdmission(0)).toThrow(/at least one slot/);
  });
});
