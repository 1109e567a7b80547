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
