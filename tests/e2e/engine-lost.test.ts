/**
 * The student's page when the engine running their sandbox stops answering, in Chromium on a
 * real server with two engines: the default one and a private Engine 26 reached over TCP with
 * TLS (scripts/test-engine.sh 26t), frozen with SIGSTOP (a hung host: connections accepted,
 * nothing answers). The page says what happened where it is seen and heard (an alert above the
 * terminal, with the server's words), offers one button, and that one click gives a working
 * terminal in a new sandbox on the engine that answers, with the progress kept; the alert is
 * there again after a reload, and has no serious accessibility fault.
 */
import type { Browser, Page } from "playwright-core";
import { readFile } from "node:fs/promises";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startCourseInBrowser,
  terminalScreen,
  typeInTerminal,
  type CourseInBrowser,
} from "../../tools/course-in-browser.ts";
import { artifact, axeSerious } from "../../tools/site.ts";
import { startTlsEngine, stopTlsEngine } from "../../tools/tls-engine.ts";
import { removeInstanceObjectsUntilGone } from "../../tools/sandbox-server.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import { WORKSTATION_IMAGE } from "../../sandbox/images/catalog.ts";
import { ENGINE_LOST_REMOTE } from "../../sandbox/sessions/session.ts";

const PID_FILE = "/var/lib/stowage-e26t/dockerd.pid";
let course: CourseInBrowser;
let browser: Browser;
let base: string;
let remote: Docker;
let frozen = false;

async function signalEngine(signal: "SIGSTOP" | "SIGCONT"): Promise<void> {
  process.kill(Number((await readFile(PID_FILE, "utf8")).trim()), signal);
  frozen = signal === "SIGSTOP";
}

beforeAll(async () => {
  const tls = await startTlsEngine();
  const entry = `${tls.address}?name=e26t&tls=${tls.tlsDir}&subnets=${tls.sessionSubnets}`;
  remote = engineFrom(entry, { concurrentStarts: 1 }).docker;
  await ensureImagesOnEngines(
    [
      { name: "default", docker: new Docker() },
      { name: "e26t", docker: remote },
    ],
    { only: [WORKSTATION_IMAGE, "busybox"], progress: null },
  );
  course = await startCourseInBrowser("engine-lost", { engines: entry });
  ({ browser, base } = course);
}, 600_000);

afterAll(async () => {
  if (frozen) await signalEngine("SIGCONT");
  const instance = course?.server.config.instance;
  await course?.close();
  // What the server could not remove while the engine was frozen (and requests it sent then,
  // served after the thaw) goes by its labels, until none is left.
  if (instance && remote) await removeInstanceObjectsUntilGone(remote, instance);
  await stopTlsEngine();
}, 180_000);

const sessionOf = async (page: Page) =>
  ((await (await page.request.post(`${base}/api/sessions`)).json()) as { id: string }).id;

describe("the engine running a student's sandbox stops answering", () => {
  it("shows what happened and one button, which starts a working sandbox elsewhere", async () => {
    const { server } = course;
    const e26t = server.sessions.fleet.byName("e26t")!;
    server.sessions.setDraining(server.engine, true); // the student lands on the remote engine
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${base}/lessons/fixture-volumes/`);
    await expect
      .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 60_000 })
      .toBe("Connected.");
    server.sessions.setDraining(server.engine, false);
    const id = await sessionOf(page);
    expect(server.sessions.get(id)!.engine).toBe(e26t);
    const progress = await (await page.request.get(`${base}/api/progress`)).text();
    expect(progress).toContain("01-fixture-volumes");
    const alert = page.locator("[data-engine-lost]");
    expect(await alert.isHidden()).toBe(true);

    await signalEngine("SIGSTOP");
    await expect.poll(() => alert.isVisible(), { timeout: 30_000, interval: 250 }).toBe(true);
    expect(await alert.getAttribute("role")).toBe("alert");
    expect((await page.locator("[data-engine-lost-message]").textContent())?.trim()).toBe(
      ENGINE_LOST_REMOTE,
    );
    await page.screenshot({ path: artifact("engine-lost-1-alert.png") });
    expect(await axeSerious(page)).toEqual([]);

    // A reload (or a student who comes back later) sees the same.
    await page.reload();
    await expect
      .poll(() => page.locator("[data-engine-lost]").isVisible(), { timeout: 30_000 })
      .toBe(true);

    await page.getByRole("button", { name: "Start again on another engine" }).click();
    await expect.poll(() => sessionOf(page), { timeout: 30_000 }).not.toBe(id);
    const fresh = await sessionOf(page);
    expect(server.sessions.get(fresh)!.engine).toBe(server.engine);
    await expect
      .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 30_000 })
      .toBe("Connected.");
    expect(await page.locator("[data-engine-lost]").isHidden()).toBe(true);
    await typeInTerminal(page, "clear; docker run --rm busybox echo works-$((6*7))");
    await expect.poll(() => terminalScreen(page), { timeout: 30_000 }).toMatch(/^works-42\s*$/m);
    expect(await (await page.request.get(`${base}/api/progress`)).text()).toBe(progress);
    await page.screenshot({ path: artifact("engine-lost-2-started-again.png") });
    await page.close();
  }, 240_000);
});
