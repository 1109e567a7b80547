/** Paths and URLs the proxy and the engine might read differently. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, rawRequest } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

describe("paths and URLs", () => {
  attack(w, "/v1.41/containers/../../info is the scoped /info", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest("GET", "/v1.41/containers/../../info", { Connection: "close" }),
    );
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/"Containers":0/);
    expect(r.text).toMatch(/"Name":"stowage"/);
  });

  attack(w, "%2e%2e segments to reach /swarm/init", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/%2e%2e/%2E%2E/swarm/init",
        { "Content-Length": 2, "Content-Type": "application/json", Connection: "close" },
        "{}",
      ),
    );
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/does not allow Swarm/);
  });

  attack(w, "double slashes and backslashes", async () => {
    for (const path of [
      "//v1.41/swarm/init",
      "/v1.41//swarm//init",
      "/v1.41\\swarm\\init",
      "/v1.41/./swarm/./init",
    ]) {
      const r = await w.raw(
        w.attacker,
        rawRequest(
          "POST",
          path,
          { "Content-Length": 2, "Content-Type": "application/json", Connection: "close" },
          "{}",
        ),
      );
      expect(r.status, path).toBeGreaterThanOrEqual(400);
    }
  });

  attack(w, "an encoded slash in an image name walking to the victim's container", async () => {
    const r = await w.http(
      w.attacker,
      "GET",
      `/v1.41/images/busybox%2F..%2F..%2Fcontainers%2F${w.victimContainerId}/json`,
    );
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toContain(w.secret);
  });

  attack(w, "an encoded slash in a container ref", async () => {
    const r = await w.http(
      w.attacker,
      "GET",
      `/v1.41/containers/..%2F..%2Fcontainers%2F${w.victimContainerId}/json`,
    );
    expect(r.status).toBe(404);
  });

  attack(w, "the victim's volume through ..%2F", async () => {
    const r = await w.http(
      w.attacker,
      "GET",
      `/v1.41/volumes/..%2Fstw-${w.victim}-${w.names.secretVol}`,
    );
    expect(r.status).toBe(404);
  });

  attack(w, "NUL and newline bytes in a ref", async () => {
    for (const ref of ["%00", `${w.names.vault}%00`, "a%0d%0aHost:%20evil"]) {
      const r = await w.http(w.attacker, "GET", `/v1.41/containers/${ref}/json`);
      expect(r.status, ref).toBe(404);
    }
  });

  attack(w, "an uppercase version prefix /V1.41", async () => {
    const r = await w.http(w.attacker, "GET", "/V1.41/containers/json");
    expect(r.status).toBe(404);
  });

  attack(w, "odd API versions are refused with the range served, or not found", async () => {
    for (const v of ["v1.12", "v1.40", "v9.99", "v1.46", "v1.41.1", "v01.41x"]) {
      const r = await w.http(w.attacker, "GET", `/${v}/containers/json?all=1`);
      expect([400, 404], `${v}: ${r.text}`).toContain(r.status);
      if (r.status === 400) expect(r.text).toMatch(/this sandbox speaks Docker API 1\.41/);
      expect(r.text).not.toContain(w.names.vault);
    }
  });

  attack(w, "an absolute-form request target naming another host", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest("GET", "http://evil.invalid/v1.41/containers/json?all=1", { Connection: "close" }),
    );
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/\[\]/);
  });

  attack(w, "a query parameter given twice (filters)", async () => {
    const r = await w.http(
      w.attacker,
      "GET",
      `/v1.41/containers/json?all=1&filters=${encodeURIComponent("{}")}&filters=${encodeURIComponent(JSON.stringify({ label: [`stowage.owner=${w.victim}`] }))}`,
    );
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/given twice/);
  });

  attack(w, "matrix parameters and a trailing slash", async () => {
    const r = await w.http(w.attacker, "GET", `/v1.41/containers/${w.victimContainerId};x=1/json/`);
    expect(r.status).toBe(404);
  });

  attack(w, "endpoints the proxy does not know", async () => {
    for (const [method, path] of [
      ["GET", "/v1.41/containers/x/checkpoints"],
      ["POST", "/v1.41/containers/x/copy"],
      ["GET", "/v1.41/debug/pprof/"],
      ["GET", "/v1.41/system/events"],
      ["OPTIONS", "/v1.41/containers/json"],
    ]) {
      const r = await w.http(w.attacker, method!, path!);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
    }
  });

  attack(w, "method override headers", async () => {
    const r = await w.http(w.attacker, "GET", `/v1.41/containers/${w.names.vault}/json`, {
      headers: { "X-HTTP-Method-Override": "DELETE" },
    });
    expect(r.status).toBe(404);
  });
});
