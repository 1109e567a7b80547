import { describe, expect, it } from "vitest";
import { parseDockerfile, planDockerfile } from "./dockerfile.ts";
import { PolicyError } from "./refusal.ts";

/** The session may use busybox and its own `mine` (stw-abc-mine:latest on the engine). */
const resolve = async (ref: string): Promise<string> => {
  if (ref === "busybox" || ref === "busybox:latest") return "busybox:latest";
  if (ref === "mine") return "stw-abc-mine:latest";
  throw new PolicyError(`No such image: ${ref}`, 404);
};

describe("parseDockerfile", () => {
  it("joins continuations, skips comments inside them, reads flags", () => {
    const ins = parseDockerfile(
      "# syntax=docker/dockerfile:1\nFROM busybox\nRUN echo a \\\n# note\n  && echo b\ncopy --chown=1:2 a b\n",
    );
    expect(ins.map((i) => [i.keyword, i.rest, i.line])).toEqual([
      ["FROM", "busybox", 2],
      ["RUN", "echo a   && echo b", 3],
      ["COPY", "a b", 6],
    ]);
    expect(ins[2]!.flags).toEqual([{ name: "chown", value: "1:2" }]);
  });

  it("refuses an escape directive other than the default", () => {
    expect(() => parseDockerfile("# escape=`\nFROM busybox")).toThrow(/escape directive/);
  });
});

describe("planDockerfile", () => {
  it("rewrites own base images to the engine's name, keeps stages, scratch and course images", async () => {
    const text = await planDockerfile(
      "FROM mine AS base\nRUN true\nFROM busybox\nCOPY --from=base /x /x\nCOPY --from=mine /y /y\nFROM scratch\n",
      resolve,
      "stowage.session=abc",
    );
    // The session's label right after each FROM: every cached step's parent is the session's own.
    expect(text).toBe(
      "FROM stw-abc-mine:latest AS base\nLABEL stowage.session=abc\nRUN true\nFROM busybox:latest\nLABEL stowage.session=abc\nCOPY --from=base /x /x\nCOPY --from=stw-abc-mine:latest /y /y\nFROM scratch\nLABEL stowage.session=abc\n",
    );
  });

  it.each([
    [
      "FROM alpine",
      /FROM alpine \(Dockerfile line 1\): this sandbox builds only from the course's images/,
    ],
    ["ARG B=busybox\nFROM $B", /a variable in FROM/],
    ["FROM --platform=linux/arm64 busybox", /FROM --platform/],
    ["FROM busybox\nADD https://example.com/x /x", /ADD of a URL/],
    ['FROM busybox\nADD ["git@github.com:a/b.git", "/b"]', /ADD of a URL/],
    ["FROM busybox\nARG U\nADD ${U} /x", /a variable in an ADD source/],
    ["FROM busybox\nRUN --mount=type=cache,target=/c true", /RUN --mount/],
    ["FROM busybox\nrun --network=host true", /RUN --network/],
    ["FROM busybox\nRUN --security=insecure true", /RUN --security/],
    ["FROM busybox\nONBUILD RUN true", /ONBUILD/],
    ["FROM busybox\nCOPY --from=alpine / /", /COPY --from alpine/],
    ["FROM busybox\nCOPY --chmod=777 a b", /COPY --chmod/],
    ["RUN true", /a Dockerfile starts with FROM/],
    ["# only a comment", /no FROM/],
    ["FROM busybox\nFROBNICATE x", /the instruction FROBNICATE/],
  ])("refuses %j", async (text, message) => {
    await expect(planDockerfile(text, resolve, "stowage.session=abc")).rejects.toThrow(message);
  });
});
