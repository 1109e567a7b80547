/**
 * Builds the site from the real lessons, serves it statically and audits every page with axe-core
 * in Chromium, in the light and the dark theme, wide and phone-sized: no serious or critical
 * violations. Also walks a lesson with the keyboard only. Screenshots go to test-artifacts/.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  artifact,
  axeSerious,
  buildSite,
  builtPages,
  launchBrowser,
  serveStatic,
} from "../../tools/site.ts";

let out: string;
let site: { url: string; close(): Promise<void> };
let browser: Browser;
let pages: string[];
/** Tabs per audit (four audits run at once). */
const TABS = 3;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "stowage-a11y-"));
  await buildSite(out);
  site = await serveStatic(out);
  browser = await launchBrowser();
  pages = builtPages(out);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  rmSync(out, { recursive: true, force: true });
});

describe("accessibility of every built page", () => {
  it("builds the landing page, the overview, every lesson and the instructor page", () => {
    expect(pages).toContain("/");
    expect(pages).toContain("/lessons/");
    expect(pages).toContain("/instructor/");
    expect(pages).toContain("/authoring/");
    expect(pages.filter((p) => /^\/lessons\/[^/]+\/$/.test(p)).length).toBeGreaterThan(0);
  });

  // The four theme x viewport audits run at the same time in one browser, each auditing its pages
  // in a few tabs at once: same coverage, a fraction of the wall time.
  for (const theme of ["light", "dark"] as const) {
    for (const viewport of [
      { name: "wide", width: 1440, height: 900 },
      { name: "phone", width: 390, height: 844 },
    ]) {
      it.concurrent(
        `has no serious or critical axe violations (${theme}, ${viewport.name})`,
        async ({ expect }) => {
          const context = await browser.newContext({ viewport, colorScheme: theme });
          const failures: string[] = [];
          try {
            await eachLimited(pages, TABS, async (path) => {
              const page = await context.newPage();
              try {
                await page.goto(site.url + path, { waitUntil: "load" });
                expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(
                  theme,
                );
                // Let the lesson page load its terminal chunk and settle its status messages.
                const lesson = path.startsWith("/lessons/") && path !== "/lessons/";
                await page.waitForTimeout(lesson ? 400 : 50);
                // Open the Files panel (when the workbench shows) so its form is audited too.
                const filesToggle = page.locator("[data-files-toggle]");
                if (lesson && (await filesToggle.isVisible())) {
                  // Generous: four pages at a time on a loaded 2-core machine (it took 30 s once).
                  await page.waitForSelector("[data-files][data-ready]", { timeout: 90_000 });
                  if ((await filesToggle.getAttribute("aria-expanded")) === "false")
                    await filesToggle.click();
                  await expect
                    .poll(() => filesToggle.getAttribute("aria-expanded"), { timeout: 10_000 })
                    .toBe("true");
                }
                for (const v of await axeSerious(page)) {
                  failures.push(
                    `${path} [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes
                      .slice(0, 3)
                      .map((n) => `${n.target.join(" ")} ${n.failureSummary ?? ""}`)
                      .join("\n    ")}`,
                  );
                }
                const slug =
                  path === "/" ? "home" : path.replace(/^\/|\/$/g, "").replace(/\//g, "_");
                await page.screenshot({
                  path: artifact(`a11y-${theme}-${viewport.name}-${slug}.png`),
                  fullPage: false,
                });
              } finally {
                await page.close();
              }
            });
          } finally {
            await context.close();
          }
          expect(failures, failures.join("\n")).toEqual([]);
        },
        180_000,
      );
    }
  }
});

describe("keyboard-only path through a lesson", () => {
  it("skip link, visible focus, quiz and exercise reachable with Tab", async () => {
    const lesson = pages.find((p) => /^\/lessons\/[^/]+\/$/.test(p))!;
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(site.url + lesson);
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => ({
      text: document.activeElement?.textContent?.trim(),
      cls: document.activeElement?.className,
    }));
    expect(first).toEqual({ text: "Skip to content", cls: "skip-link" });
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement!).outlineStyle,
    );
    expect(outline).toBe("solid");
    await page.screenshot({ path: artifact("keyboard-skip-link.png") });
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    // Tab through the lesson text: every focused element shows a visible outline.
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      const info = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const style = getComputedStyle(el);
        return {
          tag: el.tagName,
          cls: el.className,
          inMain: !!el.closest("main"),
          outline: style.outlineStyle,
          width: style.outlineWidth,
        };
      });
      if (!info.inMain) break;
      seen.add(info.tag + "." + String(info.cls).split(" ")[0]);
      expect(info.outline, JSON.stringify(info)).not.toBe("none");
    }
    expect([...seen].some((s) => s.startsWith("INPUT") || s.startsWith("BUTTON"))).toBe(true);
    await page.close();
  });

  it("opens and closes the terminal panel on a phone with the keyboard", async () => {
    const lesson = pages.find((p) => /^\/lessons\/[^/]+\/$/.test(p))!;
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(site.url + lesson);
    const toggle = page.locator("[data-terminal-toggle]");
    await expect.poll(() => toggle.isVisible()).toBe(true);
    expect(await page.locator("#workbench").isVisible()).toBe(false);
    await toggle.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#workbench").isVisible()).toBe(true);
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    await page.waitForSelector("#workbench .xterm", { timeout: 10_000 });
    await page.screenshot({ path: artifact("phone-terminal-open.png") });
    await page.locator("[data-terminal-close]").click();
    expect(await page.locator("#workbench").isVisible()).toBe(false);
    await page.close();
  });
});
