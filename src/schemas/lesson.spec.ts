import { describe, expect, it } from "vitest";
import { compareLessonIds, lessonSchema, parseLessonFolder } from "./lesson.ts";

const valid = {
  title: "Named volumes",
  summary: "Keep data.",
  duration: 20,
  objectives: ["a", "b"],
  images: ["busybox", "debian:bookworm-slim"],
  exercises: [
    {
      id: "keep-the-data",
      title: "T",
      tasks: [{ id: "volume-exists", title: "Create `app-data`.", hints: ["h"] }],
    },
  ],
};

describe("lesson schema", () => {
  it("accepts the documented frontmatter and fills defaults", () => {
    const parsed = lessonSchema.parse({ ...valid, images: undefined, exercises: undefined });
    expect(parsed.images).toEqual([]);
    expect(parsed.exercises).toEqual([]);
    expect(lessonSchema.parse(valid).exercises[0]!.tasks[0]!.hints).toEqual(["h"]);
  });

  it.each([
    [{ duration: 4 }, "duration"],
    [{ duration: 61 }, "duration"],
    [{ duration: "20" }, "duration"],
    [{ objectives: ["only one"] }, "objectives"],
    [{ objectives: ["1", "2", "3", "4", "5", "6", "7"] }, "objectives"],
    [{ title: "" }, "title"],
    [{ images: ["Not An Image"] }, "images.0"],
    [{ exercises: [{ id: "x", title: "T", tasks: [] }] }, "exercises.0.tasks"],
    [
      { exercises: [{ id: "x", title: "T", tasks: [{ id: "a", title: "two\nlines" }] }] },
      "exercises.0.tasks.0.title",
    ],
    [
      {
        exercises: [
          {
            id: "x",
            title: "T",
            tasks: [
              { id: "a", title: "A" },
              { id: "a", title: "B" },
            ],
          },
        ],
      },
      "exercises.0.tasks",
    ],
  ])("rejects %j at %s", (patch, field) => {
    const result = lessonSchema.safeParse({ ...valid, ...patch });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toContain(field);
  });

  it("describes every field", () => {
    const shape = lessonSchema.shape;
    for (const [key, field] of Object.entries(shape)) expect(field.description, key).toBeTruthy();
  });
});

describe("lesson ordering", () => {
  it("parses the number prefix and slug", () => {
    expect(parseLessonFolder("02-named-volumes")).toEqual({ order: 2, slug: "named-volumes" });
    expect(parseLessonFolder("named-volumes")).toBeUndefined();
  });
  it("orders by number, not by text", () => {
    expect(["10-drivers", "02-named-volumes", "1-intro", "x"].sort(compareLessonIds)).toEqual([
      "1-intro",
      "02-named-volumes",
      "10-drivers",
      "x",
    ]);
  });
});
