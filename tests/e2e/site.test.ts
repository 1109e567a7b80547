/**
 * The static site on its own (built from the fixture lessons, served without the API): the
 * page's JavaScript budget before the terminal opens, Pagefind search, themes, the lesson order
 * and navigation. The terminal chunk must not be loaded until the terminal is shown.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lessonSchema } from "../../src/schemas/lesson.ts";
import { describeSchema } from "../../src/utils/schema-doc.ts";
import { artifact, buildSite, launchBrowser, ROOT, serveStatic } from "../../tools/site.ts";

let out: string;
let site: { url: string; close(): Promise<void> };
let browser: Browser;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "stowage-site-"));
  await buildSite(out, join(ROOT, "tests/e2e/fixtures/lessons"), {
    STOWAGE_DOCS_DIR: join(ROOT, "tests/e2e/fixtures/docs"),
  });
  site = await serveStatic(out);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  rmSync(out, { recursive: true, force: true });
});

describe("the course site", () => {
  it("keeps the lesson page's JavaScript under 60 KB gzipped until the terminal opens", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const scripts: Array<{ url: string; gz: number }> = [];
    page.on("response", async (res) => {
      if (res.request().resourceType() === "script")
        scripts.push({ url: res.url(), gz: gzipSync(await res.body()).length });
    });
    await page.goto(`${site.url}/lessons/fixture-volumes/`, { waitUntil: "networkidle" });
    const inline = await page.evaluate(() =>
      [...document.querySelectorAll("script:not([src])")]
        .map((s) => s.textContent ?? "")
        .join("\n"),
    );
    const total = scripts.reduce((n, s) => n + s.gz, 0) + gzipSync(inline).length;
    console.log(
      `lesson page JS before the terminal: ${(total / 1024).toFixed(1)} KB gzipped`,
      scripts.map((s) => `${s.url.split("/").pop()} ${s.gz}`),
    );
    expect(total).toBeLessThanOrEqual(60 * 1024);
    expect(scripts.some((s) => /terminal|xterm|webgl/.test(s.url))).toBe(false);
    // Opening the terminal loads it.
    await page.locator("[data-terminal-toggle]").click();
    await page.waitForSelector("#workbench .xterm");
    expect(scripts.some((s) => /terminal/.test(s.url))).toBe(true);
    await page.close();
  });

  it("keeps commands exactly as written (no typographic dashes or quotes)", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/lessons/fixture-volumes/`);
    const commands = await page
      .locator("[data-command]")
      .evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.command));
    expect(commands).toContain(
      `docker run --rm -v demo:/data busybox sh -c 'echo "hi" > /data/x...'`,
    );
    expect(await page.locator(".command pre").nth(2).textContent()).toBe(
      `docker run --rm -v demo:/data busybox sh -c 'echo "hi" > /data/x...'`,
    );
    await page.close();
  });

  it("has an authoring guide with every frontmatter field and the checks guide", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${site.url}/`);
    await page
      .locator("footer")
      .getByRole("link", { name: /authoring guide/ })
      .click();
    await page.waitForURL(/\/authoring\/$/);
    expect(await page.locator("h1").textContent()).toBe("Authoring guide");
    // One row per schema field, each with its .describe() text.
    const rows = await page.locator("table.fields tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        path: (tr as HTMLElement).dataset.field,
        text: tr.querySelector("td:last-child")?.textContent ?? "",
      })),
    );
    const fields = describeSchema(lessonSchema);
    expect(rows.map((r) => r.path)).toEqual(fields.map((f) => f.path));
    for (const f of fields) {
      const text = rows.find((r) => r.path === f.path)!.text;
      expect(text, f.path).toContain(f.description.replace(/`/g, ""));
    }
    // The components, shell checks and docs/authoring-checks.md (here: a fixture) are there.
    for (const name of ["Exercise", "Command", "Quiz", "Aside", "Diagram"])
      expect(await page.locator(`#component-${name.toLowerCase()}`).textContent()).toBe(
        `<${name}>`,
      );
    expect(await page.locator("#shell-checks").count()).toBe(1);
    const included = page.locator('[data-included="authoring-checks"]');
    expect(await included.locator("h3").first().textContent()).toBe(
      "Checks in TypeScript and the stowage CLI",
    );
    expect(await included.locator("pre").first().textContent()).toContain("defineCheck");
    expect(await included.locator(".table-wrap table").count()).toBe(1);
    // Links to other repository docs do not lead to missing pages.
    expect(
      await included.getByRole("link", { name: "the lesson format" }).getAttribute("href"),
    ).toBe("#frontmatter");
    expect(await included.getByRole("link", { name: "the API" }).count()).toBe(0);
    expect(await included.textContent()).toContain("the API");
    await page.screenshot({ path: artifact("authoring-guide.png"), fullPage: true });
    await page.close();
  });

  it("orders lessons by number and links previous and next", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/lessons/`);
    expect(await page.locator("li.card h2").allTextContents()).toEqual([
      "1. Fixture volumes",
      "2. Fixture reading",
      "3. Fixture files",
    ]);
    await page.goto(`${site.url}/`);
    await page.getByRole("link", { name: /Start lesson 1/ }).click();
    await page.waitForURL(/\/lessons\/fixture-volumes\/$/);
    await page.locator(".pager a.next").click();
    await page.waitForURL(/\/lessons\/fixture-reading\/$/);
    expect(await page.locator(".pager a.prev").getAttribute("href")).toBe(
      "/lessons/fixture-volumes/",
    );
    await page.close();
  });

  it("resizes the split with the pointer and the keyboard", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${site.url}/lessons/fixture-volumes/`);
    const splitter = page.locator("[data-splitter]");
    const textWidth = () =>
      page.locator("main.lesson-text").evaluate((el) => el.getBoundingClientRect().width);
    const before = await textWidth();
    await splitter.focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    expect(Number(await splitter.getAttribute("aria-valuenow"))).toBe(56);
    expect(await textWidth()).toBeGreaterThan(before);
    const box = (await splitter.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x - 300, box.y + 200, { steps: 5 });
    await page.mouse.up();
    expect(Number(await splitter.getAttribute("aria-valuenow"))).toBeLessThan(45);
    await page.reload();
    expect(Number(await splitter.getAttribute("aria-valuenow"))).toBeLessThan(45);
    await page.close();
  });

  it("opens the lessons drawer on a mid-sized screen and closes it with Escape", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    await page.goto(`${site.url}/lessons/fixture-volumes/`);
    expect(await page.locator("#sidebar").isVisible()).toBe(false);
    await page.locator("[data-menu-button]").click();
    expect(await page.locator("#sidebar").isVisible()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-current"))).toBe(
      "page",
    );
    await page.screenshot({ path: artifact("lessons-drawer.png") });
    await page.keyboard.press("Escape");
    expect(await page.locator("#sidebar").isVisible()).toBe(false);
    expect(
      await page.evaluate(() => document.activeElement?.hasAttribute("data-menu-button")),
    ).toBe(true);
    await page.close();
  });

  it("indexes only the lessons for search", async () => {
    const entry = (await (await fetch(`${site.url}/pagefind/pagefind-entry.json`)).json()) as {
      languages: Record<string, { page_count: number }>;
    };
    expect(Object.values(entry.languages).reduce((n, l) => n + l.page_count, 0)).toBe(3);
  });

  it("finds lessons with Pagefind", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${site.url}/lessons/`);
    await page.locator("#search-input").fill("outlives");
    await expect
      .poll(() => page.locator("#search-results a").count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    expect(await page.locator("#search-results a").first().getAttribute("href")).toMatch(
      /\/lessons\/fixture-volumes\/?$/,
    );
    expect(await page.locator("#search-status").textContent()).toMatch(/result/);
    await page.screenshot({ path: artifact("search.png") });
    await page.close();
  });

  it("switches between light and dark and remembers the choice", async () => {
    const context = await browser.newContext({ colorScheme: "light" });
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
    const toggle = page.locator("[data-theme-toggle]");
    await toggle.click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    expect(await toggle.getAttribute("aria-pressed")).toBe("true");
    const bg = await page.evaluate(
      () => getComputedStyle(document.documentElement).backgroundColor,
    );
    expect(bg).toBe("rgb(15, 20, 25)");
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await context.close();
  });

  it("quizzes: predict needs an answer before the explanation, choice lets you retry", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${site.url}/lessons/fixture-volumes/`);
    const predict = page.locator('form.quiz[data-kind="predict"]');
    await predict.locator('button[type="submit"]').click();
    expect(await predict.locator(".quiz-explanation").isVisible()).toBe(false);
    await predict.locator("input").nth(1).check();
    await predict.locator('button[type="submit"]').click();
    expect(await predict.locator(".quiz-explanation").isVisible()).toBe(true);
    expect(await predict.locator(".quiz-verdict").textContent()).toContain('the answer is "Yes"');
    expect(await predict.locator("input").first().isDisabled()).toBe(true);
    const choice = page.locator('form.quiz[data-kind="choice"]');
    await choice.locator("input").nth(0).check();
    await choice.locator('button[type="submit"]').click();
    expect(await choice.locator(".quiz-explanation").isVisible()).toBe(false);
    await choice.locator("input").nth(1).check();
    await choice.locator('button[type="submit"]').click();
    expect(await choice.locator(".quiz-explanation").isVisible()).toBe(true);
    // Hints one at a time; the solution is the exercise's solution.sh.
    const task = page.locator('li[data-task="demo-exists"]');
    await task.locator("[data-hint-button]").click();
    expect(await task.locator(".hints li:not([hidden])").count()).toBe(1);
    await task.locator("[data-hint-button]").click();
    expect(await task.locator(".hints li:not([hidden])").count()).toBe(2);
    expect(await task.locator("[data-hint-button]").isVisible()).toBe(false);
    await page.locator(".solution summary").click();
    expect(await page.locator(".solution pre").textContent()).toBe(
      "docker volume create demo\ndocker run -d --name holder -v demo:/data busybox sleep 3600",
    );
    await page.close();
  });
});
