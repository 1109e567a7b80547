import { z } from "zod";
import { describe, expect, it } from "vitest";
import { lessonSchema } from "../schemas/lesson.ts";
import { describeSchema } from "./schema-doc.ts";

describe("the frontmatter reference (authoring guide)", () => {
  const rows = describeSchema(lessonSchema);
  const byPath = new Map(rows.map((r) => [r.path, r]));

  it("lists every field, nested ones included, in declaration order", () => {
    expect(rows.map((r) => r.path)).toEqual([
      "title",
      "summary",
      "duration",
      "objectives",
      "images",
      "exercises",
      "exercises[].id",
      "exercises[].title",
      "exercises[].tasks",
      "exercises[].tasks[].id",
      "exercises[].tasks[].title",
      "exercises[].tasks[].hints",
    ]);
  });

  it("gives every field the text of its .describe()", () => {
    for (const r of rows) expect(r.description, r.path).not.toBe("");
    expect(byPath.get("duration")!.description).toBe(lessonSchema.shape.duration.description);
    expect(byPath.get("exercises")!.itemDescription).toBe(
      "An exercise checked on the student's Docker engine",
    );
  });

  it("states types, required fields, defaults and limits", () => {
    expect(byPath.get("duration")).toMatchObject({
      type: "whole number",
      required: true,
      constraints: ["5 to 60"],
    });
    expect(byPath.get("objectives")).toMatchObject({
      type: "list of texts",
      constraints: ["2 to 6 items", "each: not empty"],
    });
    expect(byPath.get("images")).toMatchObject({ required: false, default: "[]" });
    expect(byPath.get("exercises[].tasks[].id")!.constraints[0]).toMatch(/^matches \//);
    expect(byPath.get("exercises[].tasks")!.constraints).toContain("at least 1 item");
  });

  it("picks up a new field by itself", () => {
    const extended = lessonSchema.extend({
      level: z.enum(["intro", "advanced"]).optional().describe("How hard the lesson is"),
    });
    expect(describeSchema(extended).find((r) => r.path === "level")).toMatchObject({
      type: 'one of "intro", "advanced"',
      required: false,
      description: "How hard the lesson is",
    });
  });
});
