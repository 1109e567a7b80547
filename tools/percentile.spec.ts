import { describe, expect, it } from "vitest";
import { percentile } from "./percentile.ts";

describe("percentile (nearest rank)", () => {
  const oneToTen = [7, 3, 10, 1, 5, 2, 9, 4, 8, 6];

  it("is the smallest value with at least p% at or below it", () => {
    expect(percentile(oneToTen, 50)).toBe(5); // floor-based indexing gave 6
    expect(percentile(oneToTen, 90)).toBe(9);
    expect(percentile(oneToTen, 99)).toBe(10);
    expect(percentile(oneToTen, 100)).toBe(10);
    expect(percentile(oneToTen, 0)).toBe(1);
  });

  it("p99 of 100 values is the 99th, not the maximum", () => {
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99);
  });

  it("is NaN for no values and does not reorder its input", () => {
    expect(percentile([], 50)).toBeNaN();
    const input = [3, 1, 2];
    percentile(input, 50);
    expect(input).toEqual([3, 1, 2]);
  });
});
