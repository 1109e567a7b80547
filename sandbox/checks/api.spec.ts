import { describe, expect, it } from "vitest";
import { treeDifference, type FileEntry } from "./api.ts";

const entry = (path: string, more: Partial<FileEntry> = {}): FileEntry => ({
  path,
  type: "file",
  size: 1,
  mode: 0o644,
  uid: 999,
  gid: 999,
  sha256: "aa",
  ...more,
});

describe("treeDifference", () => {
  const source = [entry(".", { type: "directory" }), entry("a.txt"), entry("b.txt")];

  it("finds none between equal trees, whatever the folders themselves are", () => {
    expect(treeDifference(source, [entry(".", { uid: 0 }), entry("a.txt"), entry("b.txt")])).toBe(
      undefined,
    );
  });

  it("names the first missing, extra, re-owned, re-moded or changed entry", () => {
    expect(treeDifference(source, [entry("a.txt")])).toBe("b.txt is missing");
    expect(treeDifference(source, [...source, entry("c.txt")])).toBe("c.txt is extra");
    expect(treeDifference(source, [entry("a.txt", { uid: 0, gid: 0 }), entry("b.txt")])).toBe(
      "a.txt belongs to 0:0, not 999:999",
    );
    expect(treeDifference(source, [entry("a.txt"), entry("b.txt", { mode: 0o600 })])).toBe(
      "b.txt has mode 600, not 644",
    );
    expect(treeDifference(source, [entry("a.txt", { sha256: "bb" }), entry("b.txt")])).toBe(
      "a.txt has different content",
    );
    expect(treeDifference(source, [entry("a.txt", { type: "symlink" }), entry("b.txt")])).toBe(
      "a.txt is a symlink, not a file",
    );
  });
});
