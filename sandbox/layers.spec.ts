/**
 * The server's folders form layers, and imports only go down: a request runs browser → api →
 * session → proxy → engine in one direction, and a newcomer can read any folder knowing only
 * the ones below it. A folder may import its own layer or a lower one, never a higher one, and
 * nothing in sandbox/ may import test code (tests/).
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** Bottom first. Each entry is a folder or a top-level file of sandbox/. */
const LAYERS: readonly (readonly string[])[] = [
  ["config.ts", "log.ts", "sizes.ts", "naming", "http"], // settings, logging, sizes, names and labels, HTTP and stream plumbing
  ["docker", "images", "progress"], // the engine, the course images, the progress store
  ["proxy", "terminal"], // one session's Docker API proxy and its terminal
  ["sessions"], // the session manager: makes and ends sessions, owns their proxy and terminal
  ["checks"], // exercise checks, run against a session
  ["api", "classes"], // HTTP routes, the terminal WebSocket and classes (their routes, pools, dashboard): what the browser talks to
  ["server.ts", "bench"], // the process that wires it all, and the benchmark that drives it
];

const SANDBOX = import.meta.dirname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "recipes" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".spec.ts") ? [path] : [];
  });
}

/** Relative module specifiers in a file: static imports, re-exports and dynamic import(). */
export function relativeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found = [
    ...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)["'](\.{1,2}\/[^"']+)["']/gm),
  ];
  return found.map((m) => m[1]!);
}

/** The layer of a path inside sandbox/, or undefined when no layer lists it. */
function layerOf(path: string): number | undefined {
  const top = relative(SANDBOX, path).split("/")[0]!;
  const index = LAYERS.findIndex((layer) => layer.includes(top));
  return index === -1 ? undefined : index;
}

describe("sandbox layers", () => {
  const files = sourceFiles(SANDBOX);

  it("places every file of sandbox/ in a layer", () => {
    expect(
      files.filter((file) => layerOf(file) === undefined).map((file) => relative(SANDBOX, file)),
    ).toEqual([]);
  });

  it("imports only from the same layer or a lower one, and never from tests/", () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file)!;
      for (const specifier of relativeImports(readFileSync(file, "utf8"))) {
        const target = resolve(dirname(file), specifier);
        const name = `${relative(SANDBOX, file)} → ${relative(SANDBOX, target)}`;
        if (!target.startsWith(SANDBOX + "/")) {
          if (relative(resolve(SANDBOX, ".."), target).startsWith("tests/"))
            wrong.push(`${name} (test code)`);
          continue;
        }
        const to = layerOf(target);
        if (to === undefined || to > from) wrong.push(name);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("keeps tools/ (shared by the tests and the benchmark) free of test code too", () => {
    const tools = resolve(SANDBOX, "../tools");
    const wrong = readdirSync(tools)
      .filter((name) => name.endsWith(".ts"))
      .flatMap((name) =>
        relativeImports(readFileSync(join(tools, name), "utf8")).map((specifier) => ({
          name,
          target: resolve(tools, specifier),
        })),
      )
      .filter(({ target }) => relative(resolve(SANDBOX, ".."), target).startsWith("tests/"))
      .map(({ name, target }) => `tools/${name} → ${relative(resolve(SANDBOX, ".."), target)}`);
    expect(wrong).toEqual([]);
  });

  it("finds the imports it checks", () => {
    expect(
      relativeImports(
        `import { a } from "../x.ts";\nimport type { B } from './y.ts';\nconst m = await import("../z.ts");\nimport "./side.ts";\n// import { c } from "../comment.ts";\nexport { d } from "../../tests/e.ts";\nimport x from "zod";`,
      ),
    ).toEqual(["../x.ts", "./y.ts", "../z.ts", "./side.ts", "../../tests/e.ts"]);
  });
});
