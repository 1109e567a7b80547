import { describe, expect, it } from "vitest";
import { describeDiagram, renderDiagramSvg } from "./diagram.ts";
import { formatSize, uploadPathProblem } from "./files.ts";
import { inlineMarkdown } from "./markdown.ts";
import { lessonStatus, quizId } from "./progress.ts";

describe("diagram", () => {
  const model = {
    containers: [
      {
        name: "web",
        state: "running",
        mounts: [
          { type: "volume" as const, source: "app-data", target: "/data" },
          {
            type: "bind" as const,
            source: "/home/student/site",
            target: "/usr/share/nginx/html",
            readOnly: true,
          },
          { type: "tmpfs" as const, source: "", target: "/run" },
        ],
      },
      { name: "old", state: "exited", mounts: [] },
    ],
    volumes: ["app-data", { name: "3f2a9c1b0e", anonymous: true }],
  };
  it("draws every container, volume, bind folder and tmpfs, with links", () => {
    const svg = renderDiagramSvg(model, { idPrefix: "t" });
    expect(svg).toContain('role="img"');
    expect(svg.match(/class="dg-link/g)).toHaveLength(3);
    expect(svg).toContain("dg-store-volume");
    expect(svg).toContain("dg-store-bind");
    expect(svg).toContain("dg-store-tmpfs");
    expect(svg).toContain("anonymous 3f2a9c1b");
    expect(svg).toContain("dg-stopped");
  });
  it("escapes names and describes the picture in words", () => {
    expect(renderDiagramSvg({ containers: [{ name: "<x>", mounts: [] }], volumes: [] })).toContain(
      "&lt;x&gt;",
    );
    expect(describeDiagram(model)).toContain(
      "Container web (running): volume app-data at /data, bind /home/student/site at /usr/share/nginx/html read-only, tmpfs at /run.",
    );
    expect(describeDiagram({ containers: [], volumes: [] })).toBe(
      "No containers and no volumes yet.",
    );
  });
});

describe("inline markdown", () => {
  it("renders code, bold and links and escapes the rest", () => {
    expect(inlineMarkdown("Create `a<b>` **now** <script>")).toBe(
      "Create <code>a&lt;b&gt;</code> <strong>now</strong> &lt;script&gt;",
    );
    expect(inlineMarkdown("see [docs](https://docs.docker.com/)")).toBe(
      'see <a href="https://docs.docker.com/">docs</a>',
    );
    expect(inlineMarkdown("`**not bold**`")).toBe("<code>**not bold**</code>");
  });
});

describe("progress status", () => {
  const keys = ["ex/a", "ex/b"];
  it("is done when every task passed, in progress when started", () => {
    expect(lessonStatus(keys, undefined)).toBe("not-started");
    expect(lessonStatus(keys, { tasks: {}, quizzes: {}, visitedAt: "t" })).toBe("in-progress");
    expect(lessonStatus(keys, { tasks: { "ex/a": "t" }, quizzes: {} })).toBe("in-progress");
    expect(lessonStatus(keys, { tasks: { "ex/a": "t", "ex/b": "t" }, quizzes: {} })).toBe("done");
    expect(lessonStatus([], { tasks: {}, quizzes: {}, visitedAt: "t" })).toBe("done");
  });
  it("gives quizzes short stable ids", () => {
    expect(quizId("Is it there?")).toBe(quizId("Is it there?"));
    expect(quizId("Is it there?")).not.toBe(quizId("Is it gone?"));
    expect(quizId("x")).toMatch(/^q[a-z0-9]+$/);
  });
});

describe("files panel helpers", () => {
  it("formats sizes", () => {
    expect(formatSize(0)).toBe("0 B");
    expect(formatSize(1023)).toBe("1023 B");
    expect(formatSize(1536)).toBe("1.5 KB");
    expect(formatSize(50 * 1024 * 1024)).toBe("50.0 MB");
  });

  it("accepts paths inside the home only, as the server does", () => {
    expect(uploadPathProblem("app-data.tgz")).toBeUndefined();
    expect(uploadPathProblem("restore/app-data.tgz")).toBeUndefined();
    expect(uploadPathProblem("")).toMatch(/name/);
    expect(uploadPathProblem("/etc/passwd")).toMatch(/inside your home/);
    expect(uploadPathProblem("~/x")).toMatch(/inside your home/);
    expect(uploadPathProblem("../x")).toMatch(/\.\./);
    expect(uploadPathProblem("a//b")).toMatch(/empty parts/);
    expect(uploadPathProblem("a/")).toMatch(/empty parts/);
    expect(uploadPathProblem("a\nb")).toMatch(/control/);
  });
});
