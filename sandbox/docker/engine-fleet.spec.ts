import { describe, expect, it } from "vitest";
import pino from "pino";
import { engineFrom, type Engine } from "./engine.ts";
import { EngineFleet } from "./engine-fleet.ts";
import { parseEngineAddress } from "../naming/engine-addresses.ts";

const GiB = 2 ** 30;

/** Engines at sockets that do not exist: placement never calls them. */
function fleetOf(names: string[]): { fleet: EngineFleet; engines: Engine[] } {
  const engines = names.map((name, i) =>
    engineFrom(
      parseEngineAddress(`unix:///nonexistent/${name}.sock`, {
        name,
        subnets: `10.${240 + i}.0.0/16`,
        isDefault: i === 0,
      }),
      { concurrentStarts: 1 },
    ),
  );
  const fleet = new EngineFleet(engines, pino({ level: "silent" }));
  for (const engine of engines) fleet.state(engine).memTotalBytes = 8 * GiB;
  return { fleet, engines };
}

describe("engine placement", () => {
  it("takes the engine with the fewest sessions per GiB, skipping draining and silent ones", async () => {
    const { fleet, engines } = fleetOf(["a", "b", "c"]);
    const [a, b, c] = engines as [Engine, Engine, Engine];
    const live = new Map([
      [a, 2],
      [b, 1],
      [c, 1],
    ]);
    const count = (e: Engine) => live.get(e)!;
    expect((await fleet.place(count, 1))?.name).toBe("b");
    fleet.setDraining(b, true);
    expect((await fleet.place(count, 1))?.name).toBe("c");
    fleet.state(c).answers = false;
    expect((await fleet.place(count, 1))?.name).toBe("a");
    // Twice the memory holds twice the sessions before it counts as fuller.
    fleet.setDraining(b, false);
    fleet.state(a).memTotalBytes = 32 * GiB;
    live.set(a, 3);
    expect((await fleet.place(count, 1))?.name).toBe("a");
    fleet.state(a).answers = false;
    fleet.setDraining(b, true);
    expect(await fleet.place(count, 1)).toBeUndefined();
  });

  it("marks an engine that never answered down at its first failed probe", async () => {
    const { fleet, engines } = fleetOf(["a", "b"]);
    const changes: [string, boolean][] = [];
    fleet.onChange((engine, answers) => changes.push([engine.name, answers]));
    await fleet.probeAll();
    expect(engines.map((e) => fleet.state(e).answers)).toEqual([false, false]);
    expect(fleet.state(engines[1]!).problem).toMatch(/does not answer/);
    expect(changes).toEqual([
      ["a", false],
      ["b", false],
    ]);
  });
});

describe("free memory of a remote engine's host", () => {
  /** Two engines of another host (remote=1), the second with a helper reporting `free` bytes. */
  function remoteFleet(free: number) {
    const engines = ["a", "b"].map((name, i) =>
      engineFrom(
        parseEngineAddress(`unix:///nonexistent/${name}.sock?remote=1`, {
          name,
          subnets: `10.${240 + i}.0.0/16`,
          isDefault: i === 0,
        }),
        { concurrentStarts: 1 },
      ),
    );
    const fleet = new EngineFleet(engines, pino({ level: "silent" }));
    for (const engine of engines) fleet.state(engine).memTotalBytes = 8 * GiB;
    const reads = { count: 0 };
    // Pure placement logic: the helper's answer is given (the real one: tests/faults/host-helper.test.ts).
    fleet.useHostHelper(engines[1]!, {
      memAvailableBytes: () => {
        reads.count++;
        return Promise.resolve(free);
      },
    });
    return { fleet, engines: engines as [Engine, Engine], reads };
  }

  it("sends no session to a remote host without a session's memory free, and reads it at most every 30 s", async () => {
    const { fleet, engines, reads } = remoteFleet(GiB / 2);
    const [a, b] = engines;
    // b holds fewer sessions, but its host has half a GiB free for a 1 GiB session: a takes it.
    const live = (e: Engine) => (e === a ? 3 : 0);
    expect((await fleet.place(live, GiB))?.name).toBe("a");
    expect((await fleet.place(live, GiB))?.name).toBe("a");
    expect(reads.count).toBe(1);
    // With room there (a 256 MiB session), b again.
    expect((await fleet.place(live, GiB / 4))?.name).toBe("b");
    expect(reads.count).toBe(1);
    // a has no helper: its free memory is unknown, which counts as room (as before).
    expect(await fleet.memAvailableBytes(a)).toBeUndefined();
    expect(b.remote).toBe(true);
  });
});
