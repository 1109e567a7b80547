import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import sirv from "sirv";

export const ROOT = resolve(import.meta.dirname, "..");
export const ARTIFACTS = join(ROOT, "test-artifacts");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Builds the site into `outDir` (never the dist/ a server may be serving). */
export async function buildSite(
  outDir: string,
  lessonsDir?: string,
  env: Record<string, string> = {},
): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, "node_modules/astro/bin/astro.mjs"), "build", "--silent"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        STOWAGE_OUT_DIR: outDir,
        ...(lessonsDir ? { STOWAGE_LESSONS_DIR: lessonsDir } : {}),
        ...env,
      },
      maxBuffer: 20 * 1024 * 1024,
    },
  );
}

/** A tiny static server for a built site (no API: the pages must still be accessible). */
export async function serveStatic(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const handler = sirv(dir, { dev: true, extensions: ["html"] });
  const server: Server = createServer((req, res) =>
    handler(req, res, () => {
      res.statusCode = 404;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ error: "not found" }));
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Every built page as a URL path ("/", "/lessons/named-volumes/", ...). */
export function builtPages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (name !== "_astro" && name !== "pagefind") walk(p);
      } else if (name === "index.html") {
        out.push("/" + relative(dir, d).split("\\").join("/") + (d === dir ? "" : "/"));
      }
    }
  };
  walk(dir);
  return out.map((p) => p.replace(/^\/\/$/, "/")).sort();
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/** Runs axe-core in the page and returns the serious and critical violations. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: join(ROOT, "node_modules/axe-core/axe.min.js") });
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
