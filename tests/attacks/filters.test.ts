/** Lists, prune and events are scoped by label; a student's filters narrow, never widen. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const list = (path: string, filters: unknown) =>
  w.http(
    w.attacker,
    "GET",
    `${path}${path.includes("?") ? "&" : "?"}filters=${encodeURIComponent(typeof filters === "string" ? filters : JSON.stringify(filters))}`,
  );

describe("filters", () => {
  attack(w, "docker ps -a --filter name=.* (name filters are regexes)", async () => {
    const r = await w.sh(
      "docker ps -a --filter 'name=.*' --format '{{.Names}}'; docker ps -a --filter 'name=stw-' -q",
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe("");
  });

  attack(w, "a label filter naming the victim's session (ANDed, so empty)", async () => {
    for (const key of ["stowage.owner", "stowage.session"]) {
      const r = await list("/v1.41/containers/json?all=1", { label: [`${key}=${w.victim}`] });
      expect(r.status).toBe(200);
      expect(r.json).toEqual([]);
    }
  });

  attack(w, "the legacy map form of filters", async () => {
    const r = await list("/v1.41/containers/json?all=1", {
      label: { [`stowage.owner=${w.victim}`]: true },
      name: { [w.names.vault]: true },
    });
    expect(r.json).toEqual([]);
  });

  attack(w, "a label! filter on prune cannot invert the scope", async () => {
    for (const path of [
      "/v1.41/containers/prune",
      "/v1.41/volumes/prune",
      "/v1.41/networks/prune",
    ]) {
      const r = await w.http(
        w.attacker,
        "POST",
        `${path}?filters=${encodeURIComponent(JSON.stringify({ "label!": [`stowage.owner=${w.attacker}`] }))}`,
      );
      expect(r.status, path).toBe(200);
    }
  });

  attack(w, "docker system prune -af --volumes from the attacker's CLI", async () => {
    const r = await w.sh(
      "docker system prune -af --volumes 2>&1; docker volume prune -f; docker container prune -f; docker network prune -f",
    );
    expect(r.output).not.toContain(w.names.spareVol);
  });

  attack(
    w,
    "ps --filter since/before with the victim's container ID does not tell it exists",
    async () => {
      const real = await list("/v1.41/containers/json?all=1", { since: [w.victimContainerId] });
      const fake = await list("/v1.41/containers/json?all=1", {
        since: ["0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"],
      });
      expect(real.status).toBe(fake.status);
      expect(real.json?.message?.replace(w.victimContainerId, "X")).toEqual(
        fake.json?.message?.replace(/0123456789ab\w+/, "X"),
      );
      const byName = await list("/v1.41/containers/json?all=1", {
        before: [`stw-${w.victim}-${w.names.vault}`],
      });
      expect(byName.status).toBe(404);
    },
  );

  attack(w, "a volume filter naming the victim's volume", async () => {
    const r = await list("/v1.41/containers/json?all=1", {
      volume: [`stw-${w.victim}-${w.names.secretVol}`, w.names.secretVol],
    });
    expect(r.json).toEqual([]);
  });

  attack(w, "a network filter naming the victim's network by ID", async () => {
    const r = await list("/v1.41/containers/json?all=1", { network: [w.victimNetworkId] });
    expect(r.json).toEqual([]);
    const n = await list("/v1.41/networks", { id: [w.victimNetworkId.slice(0, 6)] });
    expect(n.json).toEqual([]);
  });

  attack(w, "volume list filtered by the victim's full engine name", async () => {
    const r = await list("/v1.41/volumes", { name: [`stw-${w.victim}`] });
    expect(r.json.Volumes).toEqual([]);
  });

  attack(w, "events filtered by the victim's container", async () => {
    const r = await w.http(
      w.attacker,
      "GET",
      `/v1.41/events?since=0&until=${Math.floor(Date.now() / 1000)}&filters=${encodeURIComponent(JSON.stringify({ container: [w.victimContainerId], type: ["container"] }))}`,
    );
    expect(r.status).toBe(200);
    expect(r.text.trim()).toBe("");
  });

  attack(w, "filter keys the proxy does not know, bad JSON, the wrong shape", async () => {
    for (const filters of [
      '{"is-task":["true"],"whatever":["x"]}',
      "not json",
      '["label"]',
      '{"label":"x"}',
      '{"label":[1]}',
    ]) {
      const r = await list("/v1.41/containers/json?all=1", filters);
      expect(r.status, filters).toBe(400);
    }
  });

  attack(w, "an all=true filter on volume prune (API 1.42) is refused, not widened", async () => {
    const r = await w.http(
      w.attacker,
      "POST",
      `/v1.41/volumes/prune?filters=${encodeURIComponent(JSON.stringify({ all: ["true"] }))}`,
    );
    expect(r.status).toBe(400);
  });
});
