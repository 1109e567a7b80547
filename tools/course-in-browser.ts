/**
 * The setup every end-to-end test of the student's page shares: the fixture course built into a
 * temporary folder, served by a real sandbox server on the real engine, and Chromium. One per
 * test file (beforeAll / afterAll), plus the two ways a test reads and types in the terminal.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startTestServer } from "./sandbox-server.ts";
import { buildSite, launchBrowser, ROOT } from "./site.ts";

export const FIXTURE_LESSONS = join(ROOT, "tests/e2e/fixtures/lessons");

export interface CourseInBrowser {
  /** The server's address as the page sees it (localhost: the origin the server accepts). */
  base: string;
  /** The server under test; a test that restarts it puts the new one here, to be closed. */
  server: Awaited<ReturnType<typeof startTestServer>>;
  browser: Browser;
  close(): Promise<void>;
}

export async function startCourseInBrowser(
  name: string,
  options: { instructorToken?: string; engines?: string } = {},
): Promise<CourseInBrowser> {
  const out = mkdtempSync(join(tmpdir(), `stowage-${name}-`));
  await buildSite(out, FIXTURE_LESSONS);
  const server = await startTestServer({
    siteDir: out,
    lessonsDir: FIXTURE_LESSONS,
    ...(options.instructorToken ? { instructorToken: options.instructorToken } : {}),
    ...(options.engines ? { engines: options.engines } : {}),
  });
  const browser = await launchBrowser();
  const course: CourseInBrowser = {
    base: `http://localhost:${server.port}`,
    server,
    browser,
    async close() {
      await browser.close();
      await course.server.close();
      rmSync(out, { recursive: true, force: true });
    },
  };
  return course;
}

/** What the page's terminal shows now, as text (the terminal element's own screenText()). */
export function terminalScreen(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      (
        document.querySelector("[data-terminal]") as HTMLElement & { screenText?: () => string }
      ).screenText?.() ?? "",
  );
}

/** Types a command line into the page's terminal, as a student at the keyboard. */
export async function typeInTerminal(page: Page, command: string): Promise<void> {
  await page.locator("[data-terminal] .xterm").click();
  await page.keyboard.type(command, { delay: 5 });
  await page.keyboard.press("Enter");
}
