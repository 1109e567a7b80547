/**
 * The server's data folder fills up (a 4 MiB tmpfs this test mounts and fills). Creating a
 * session answers a clear 503, the progress API keeps answering (reads work; a write that cannot
 * be saved is a clear 507), the server stays up; with space again everything works and no
 * progress recorded before is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtemp, open, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server | undefined;
let mountPoint = "";
let mounted = false;
let student: ApiClient;
let id = "";

beforeAll(async () => {
  mountPoint = await mkdtemp(join(process.cwd(), ".data", "full-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mountPoint]);
  mounted = true;
  server = await startTestServer({ dataDir: mountPoint });
  student = new ApiClient(server.url);
  id = (await student.call("POST", "/api/sessions")).body.id;
});

afterAll(async () => {
  await server?.close();
  if (mounted) execFileSync("umount", [mountPoint]);
  await rmdir(mountPoint).catch(() => undefined);
});

/** Writes zeros into the tmpfs until it is full; returns the file's path. */
async function fill(): Promise<string> {
  const path = join(mountPoint, "filler.bin");
  const file = await open(path, "w");
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) await file.write(block);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
  } finally {
    await file.close();
  }
  return path;
}

describe("the data folder's disk is full", () => {
  it("before: a session, some progress", async () => {
    expect(
      (
        await student.call("POST", "/api/progress/visits", {
          lesson: "01-containers-are-ephemeral",
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await student.call("POST", "/api/progress/quizzes", {
          lesson: "01-containers-are-ephemeral",
          quiz: "q1",
          answer: 1,
          correct: true,
        })
      ).status,
    ).toBe(200);
  });

  it("full: new sessions get a clear 503, progress reads work, writes answer a clear error, the server stays up", async () => {
    const before = (await student.call("GET", "/api/progress")).body;
    const filler = await fill();
    try {
      const t0 = Date.now();
      const created = await new ApiClient(server!.url).call("POST", "/api/sessions");
      console.log(
        `disk full: POST /api/sessions ${Date.now() - t0} ms -> ${created.status} ${JSON.stringify(created.body)}`,
      );
      expect(created.status).toBe(503);
      expect(created.body.error).toMatch(/disk is full/);
      expect(created.body.error).not.toContain(mountPoint);

      expect((await student.call("GET", "/api/progress")).body).toEqual(before);
      // Writing a row may still fit in SQLite's free pages; many rows cannot.
      let failed: { status: number; body: any } | undefined;
      for (let i = 0; i < 400 && !failed; i++) {
        const r = await student.call("POST", "/api/progress/visits", {
          lesson: `lesson-${i}-with-a-rather-long-name-to-fill-pages`,
        });
        if (r.status !== 200) failed = r;
      }
      console.log(`disk full: progress write -> ${failed?.status} ${JSON.stringify(failed?.body)}`);
      expect(failed?.status).toBe(507);
      expect(failed?.body.error).toMatch(/disk is full/);

      const health = await student.call("GET", "/api/health");
      expect(health.body.disk?.full).toBe(true);
      expect((await student.call("GET", `/api/sessions/${id}`)).status).toBe(200);
      const progress = await student.call("GET", "/api/progress");
      expect(progress.status).toBe(200);
    } finally {
      await rm(filler);
    }
  }, 60_000);

  it("space again: sessions start and work, progress from before is all there", async () => {
    const other = new ApiClient(server!.url);
    const created = await other.call("POST", "/api/sessions");
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await studentShell(
      server!,
      created.body.id,
      "echo hi > ~/f && cat ~/f && docker volume create v >/dev/null && echo ok",
    );
    expect(r.stdout, r.output).toBe("hi\nok\n");
    expect(
      (await other.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" })).status,
    ).toBe(200);
    const mine = (await student.call("GET", "/api/progress")).body;
    expect(JSON.stringify(mine)).toContain("01-containers-are-ephemeral");
    expect(JSON.stringify(mine)).toContain("q1");
    expect((await student.call("GET", "/api/health")).status).toBe(200);
  }, 60_000);
});
