import { describe, expect, it } from "vitest";
import type { Engine } from "../docker/engine.ts";
import {
  cappedApiVersion,
  checkEngineSpeaks,
  compareApiVersions,
  requireApiVersion,
  splitVersionPrefix,
  withApiVersion,
} from "./api-versions.ts";

describe("API versions through the proxy", () => {
  it("compares versions by number, not as text", () => {
    expect(compareApiVersions("1.9", "1.41")).toBeLessThan(0);
    expect(compareApiVersions("1.45", "1.45")).toBe(0);
    expect(compareApiVersions("2.0", "1.99")).toBeGreaterThan(0);
  });

  it("splits the prefix, serves 1.41 to 1.45 and names the range otherwise", () => {
    expect(splitVersionPrefix("/v1.45/containers/json", "1.41")).toEqual({
      version: "1.45",
      path: "/containers/json",
    });
    expect(splitVersionPrefix("/_ping", "1.41")).toEqual({ version: "1.41", path: "/_ping" });
    expect(splitVersionPrefix("/v1.41", "1.41")).toEqual({ version: "1.41", path: "/" });
    expect(splitVersionPrefix("/v1.41.1/containers/json", "1.41").path).toBe(
      "/v1.41.1/containers/json",
    );
    expect(() => splitVersionPrefix("/v1.40/containers/json", "1.41")).toThrow(
      /1\.40 is too old: this sandbox speaks Docker API 1\.41/,
    );
    expect(() => splitVersionPrefix("/v1.46/containers/json", "1.41")).toThrow(/1\.46 is too new/);
  });

  it("offers at most 1.45 in the ping", () => {
    expect(cappedApiVersion("1.41")).toBe("1.41");
    expect(cappedApiVersion("1.47")).toBe("1.45");
    expect(cappedApiVersion(undefined)).toBeUndefined();
  });

  it("refuses a field newer than the request's version, inside that request only", async () => {
    await withApiVersion("1.41", async () =>
      expect(() => requireApiVersion("VolumeOptions.Subpath", "1.45")).toThrow(
        /Subpath needs API v1\.45 or newer/,
      ),
    );
    await withApiVersion("1.45", async () =>
      expect(() => requireApiVersion("VolumeOptions.Subpath", "1.45")).not.toThrow(),
    );
    expect(() => requireApiVersion("VolumeOptions.Subpath", "1.45")).not.toThrow(); // the server's own calls
  });
});

describe("a version the engine is too old for", () => {
  it("is refused while the engine answers, and passed on once it has gone away", async () => {
    const { createServer } = await import("node:http");
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "stowage-api-"));
    const socketPath = join(dir, "engine.sock");
    // An engine 20.10 as far as /version goes: the only call checkEngineSpeaks makes.
    const engine20 = createServer((_req, res) => res.end(JSON.stringify({ ApiVersion: "1.41" })));
    await new Promise<void>((r) => engine20.listen(socketPath, r));
    const engine = { httpTarget: { socketPath } } as unknown as Engine;
    try {
      await expect(checkEngineSpeaks(engine, "1.41")).resolves.toBeUndefined();
      await expect(checkEngineSpeaks(engine, "1.45")).rejects.toThrow(
        /client version 1\.45 is too new\. Maximum supported API version is 1\.41/,
      );
      // The engine goes away with its answer still cached: a CLI whose ping failed sends its own
      // newest version, and the request must go on to meet the engine's absence, not a refusal.
      await new Promise<void>((r) => engine20.close(() => r()));
      await expect(checkEngineSpeaks(engine, "1.45")).resolves.toBeUndefined();
    } finally {
      engine20.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
