import { describe, expect, it } from "vitest";
import { mirrorPart } from "./terminal-session.ts";

const lines = (n: number, text = "stowage-flood-line") =>
  Buffer.from(Array.from({ length: n }, () => `${text}\r\n`).join(""));

describe("mirrorPart: what of a flood the headless mirror parses", () => {
  it("keeps small batches whole", () => {
    const small = lines(100);
    expect(mirrorPart(small, 230)).toBe(small);
  });
  it("keeps only the last lines of a plain-text flood, after a new line", () => {
    const part = mirrorPart(lines(5000), 230).toString();
    expect(part.startsWith("\r\nstowage-flood-line\r\n")).toBe(true);
    expect(part.split("\n").length - 1).toBe(231);
  });
  it("keeps everything when the part to drop holds an escape sequence", () => {
    const withEscape = Buffer.concat([Buffer.from("\x1b[?1049h"), lines(5000)]);
    expect(mirrorPart(withEscape, 230)).toBe(withEscape);
    const tail = Buffer.concat([lines(5000), Buffer.from("\x1b[31mred\x1b[0m\r\n")]);
    expect(mirrorPart(tail, 230).toString()).toContain("\x1b[31mred");
  });
});
