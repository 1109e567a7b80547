import { describe, expect, it } from "vitest";
import {
  cappedApiVersion,
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
