import { describe, expect, it } from "vitest";
import { siteBuildSettings } from "./site-build.ts";

describe("the site build's settings", () => {
  it("default to the course's lessons, dist/ and the server on 4321", () => {
    expect(siteBuildSettings({})).toEqual({
      lessonsDir: "lessons",
      outDir: "./dist",
      serverPort: 4321,
    });
  });

  it("take the environment's, and name the variable of a bad one", () => {
    expect(
      siteBuildSettings({
        STOWAGE_LESSONS_DIR: "tests/e2e/fixtures/lessons",
        STOWAGE_PORT: "4400",
      }),
    ).toMatchObject({ lessonsDir: "tests/e2e/fixtures/lessons", serverPort: 4400 });
    expect(() => siteBuildSettings({ STOWAGE_PORT: "web" })).toThrow(/^STOWAGE_PORT: /);
  });
});
