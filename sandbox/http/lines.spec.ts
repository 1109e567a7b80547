import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { eachLine } from "./lines.ts";

describe("eachLine", () => {
  it("gives whole lines however the chunks cut them, and keeps the unfinished rest", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const rest = eachLine(stream, (line) => lines.push(line));
    const text = Buffer.from('{"a":1}\n{"b":"é"}\n\n{"c":', "utf8");
    for (let i = 0; i < text.length; i += 3) stream.write(text.subarray(i, i + 3)); // cuts "é" in two
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual(['{"a":1}', '{"b":"é"}', ""]);
    expect(rest()).toBe('{"c":');
  });
});
