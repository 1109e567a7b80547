import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { SESSION_RECORD_FILE } from "../../sandbox/sessions/session-record.ts";
import { join } from "node:path";
import { networkInterfaces } from "node:os";
import { ApiClient, countSessionObjects, startTestServer } from "../../tools/sandbox-server.ts";
import { LABEL_INSTANCE, LABEL_ROLE, LABEL_SESSION } from "../../sandbox/naming/scope.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("session lifecycle", () => {
  it("creates a session owned by the caller, returns it again, and lets nobody else see it", async () => {
    const alice = new ApiClient(server.url);
    const created = await alice.call("POST", "/api/sessions");
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[a-f0-9]{12}$/);
    expect(alice.cookie).toMatch(/^stowage_learner=[a-f0-9]{32}$/);

    const again = await alice.call("POST", "/api/sessions");
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(created.body.id);

    const got = await alice.call("GET", `/api/sessions/${created.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.state).toBe("ready");

    const mallory = new ApiClient(server.url);
    expect((await mallory.call("GET", `/api/sessions/${created.body.id}`)).status).toBe(404);
    expect((await mallory.call("DELETE", `/api/sessions/${created.body.id}`)).status).toBe(404);
    expect(server.sessions.get(created.body.id)).toBeDefined();

    await alice.call("DELETE", `/api/sessions/${created.body.id}`);
  });

  it("removes every container, volume, network and file of a session when it is deleted", async () => {
    const alice = new ApiClient(server.url);
    const { body } = await alice.call("POST", "/api/sessions");
    const session = server.sessions.get(body.id)!;
    const { runInWorkstation } = await import("../../sandbox/sessions/workstation-exec.ts");
    const made = await runInWorkstation(
      server.engine.docker,
      session.workstationId!,
      "docker volume create keep && docker run -d --name sleeper -v keep:/data busybox sleep 300 && docker network create extra && echo ok > ~/file.txt",
      { timeoutMs: 30_000 },
    );
    expect(made.exitCode, made.output).toBe(0);
    const before = await countSessionObjects(server, body.id);
    expect(before.containers).toBe(3); // workstation + check container + sleeper
    expect(before.volumes).toBe(1);
    expect(before.networks).toBe(2); // session bridge + extra
    expect(existsSync(session.scope.workspaceDir)).toBe(true);

    const deleted = await alice.call("DELETE", `/api/sessions/${body.id}`);
    expect(deleted.status).toBe(204);
    expect(await countSessionObjects(server, body.id)).toEqual({
      containers: 0,
      volumes: 0,
      networks: 0,
    });
    expect(existsSync(session.sessionDir)).toBe(false);
    expect((await alice.call("GET", `/api/sessions/${body.id}`)).status).toBe(404);
  });

  it("leaves nothing when a session is deleted while its docker CLI is creating a container", async () => {
    // A create the CLI sent just before the end used to reach the engine after the session's
    // objects were listed for removal (the bench's busy neighbours left such containers behind).
    const { body } = await new ApiClient(server.url).call("POST", "/api/sessions");
    const session = server.sessions.get(body.id)!;
    const proxyServer = (session.proxy as unknown as { server: import("node:http").Server }).server;
    const arrived = new Promise<void>((resolve) => proxyServer.once("request", () => resolve()));
    const { request } = await import("node:http");
    const sent = new Promise<void>((resolve) => {
      const req = request(
        {
          socketPath: session.scope.proxySocketPath,
          method: "POST",
          path: "/v1.41/containers/create",
          headers: { "content-type": "application/json" },
        },
        (res) => res.resume().on("end", resolve).on("error", resolve),
      );
      req.on("error", () => resolve());
      req.end(JSON.stringify({ Image: "busybox", Cmd: ["true"] }));
    });
    await arrived;
    await server.sessions.destroy(body.id, "deleted by its owner");
    await sent;
    await new Promise((r) => setTimeout(r, 1500)); // a late create would have landed by now
    expect(await countSessionObjects(server, body.id)).toEqual({
      containers: 0,
      volumes: 0,
      networks: 0,
    });
  }, 60_000);

  it("ends idle sessions after the idle timeout", async () => {
    const quick = await startTestServer({ idleTimeoutSeconds: 10 });
    try {
      const client = new ApiClient(quick.url);
      const { body } = await client.call("POST", "/api/sessions");
      expect(quick.sessions.get(body.id)).toBeDefined();
      const session = quick.sessions.get(body.id)!;
      session.lastActiveAt = Date.now() - 11_000; // as if idle for 11 s
      const deadline = Date.now() + 15_000;
      while (quick.sessions.get(body.id) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(quick.sessions.get(body.id)).toBeUndefined();
      const left = await quick.engine.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_SESSION}=${body.id}`] },
      });
      expect(left).toHaveLength(0);
    } finally {
      await quick.close();
    }
  });

  it("answers busy with a retry time past the global cap and the per-client rate", async () => {
    const capped = await startTestServer({ maxSessions: 1, createPerMinute: 1 });
    try {
      const first = new ApiClient(capped.url);
      expect((await first.call("POST", "/api/sessions")).status).toBe(201);
      const second = await new ApiClient(capped.url).call("POST", "/api/sessions");
      expect(second.status).toBe(503);
      expect(second.body.error).toMatch(/^busy, try again in \d+ s/);
      expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
      // The rate limit counts creations per address: the third attempt within a minute is refused.
      await capped.sessions.destroy(
        capped.sessions.forOwner(first.cookie.split("=")[1]!)!.id,
        "test",
      );
      const third = await new ApiClient(capped.url).call("POST", "/api/sessions");
      expect(third.status).toBe(429);
      expect(third.body.error).toMatch(/^busy, try again in \d+ s/);
    } finally {
      await capped.close();
    }
  });

  it("adopts a previous run's live session when it starts, and removes what no live session owns", async () => {
    const first = await startTestServer();
    const client = new ApiClient(first.url);
    const { body } = await client.call("POST", "/api/sessions");
    const older = (await new ApiClient(first.url).call("POST", "/api/sessions")).body.id as string;
    const instance = first.config.instance;
    // Its check container is made just after it is handed out.
    await expect.poll(async () => (await countSessionObjects(server, body.id)).containers).toBe(2);
    await expect.poll(async () => (await countSessionObjects(server, older)).containers).toBe(2);
    // Simulate a crash: stop serving without ending the sessions.
    first.server.closeAllConnections();
    first.server.close();
    first.sessions.events.stop();
    await first.claim.release(); // a crashed process holds nothing (instance-claim.ts)
    expect((await countSessionObjects(server, body.id)).containers).toBe(2); // workstation, check container
    // What the crashed run left of a session that never got a record (cut off while being made).
    const halfMade = "0123456789ab";
    await first.engine.docker.createVolume({
      Name: `stw-${halfMade}-data`,
      Labels: { [LABEL_INSTANCE]: instance, [LABEL_SESSION]: halfMade },
    });
    await mkdir(join(first.dataDir, "sessions", halfMade));
    // Two records naming the same learner (possible only when a start found the engine down and
    // the learner got a new sandbox meanwhile): the older one is not adopted.
    const recordOf = (id: string) => join(first.dataDir, "sessions", id, SESSION_RECORD_FILE);
    const mine = JSON.parse(await readFile(recordOf(body.id), "utf8")) as {
      owner: string;
      createdAt: number;
    };
    const olderRecord = JSON.parse(await readFile(recordOf(older), "utf8")) as object;
    await writeFile(
      recordOf(older),
      JSON.stringify({ ...olderRecord, owner: mine.owner, createdAt: mine.createdAt - 1000 }),
    );
    const second = await startTestServer({ instance, dataDir: first.dataDir });
    try {
      expect(second.sessions.get(body.id)?.owner).toBeTruthy();
      expect(second.sessions.get(older)).toBeUndefined();
      expect(await countSessionObjects(server, older)).toEqual({
        containers: 0,
        volumes: 0,
        networks: 0,
      });
      expect((await countSessionObjects(server, body.id)).containers).toBe(2);
      expect(await countSessionObjects(server, halfMade)).toEqual({
        containers: 0,
        volumes: 0,
        networks: 0,
      });
      expect(existsSync(join(first.dataDir, "sessions", halfMade))).toBe(false);
      // The same learner, now talking to the second server, gets the same session.
      const mine = await fetch(`${second.url}/api/sessions`, {
        method: "POST",
        headers: { cookie: client.cookie },
      });
      expect(mine.status).toBe(200);
      expect(((await mine.json()) as { id: string }).id).toBe(body.id);
    } finally {
      await second.close();
      await rm(first.dataDir, { recursive: true, force: true }); // second.close() removes only its own
    }
    expect(await countSessionObjects(server, body.id)).toEqual({
      containers: 0,
      volumes: 0,
      networks: 0,
    });
  });

  it("takes a previous run's warm sandbox back into the pool, ready with a prompt", async () => {
    const first = await startTestServer({ poolSize: 1 });
    await expect.poll(() => first.sessions.pooled, { timeout: 30_000 }).toBe(1);
    const [pooledId] = (
      await first.engine.docker.listContainers({
        filters: {
          label: [`${LABEL_INSTANCE}=${first.config.instance}`, `${LABEL_ROLE}=workstation`],
        },
      })
    ).map((c) => c.Labels[LABEL_SESSION]);
    // A crash, as above.
    first.server.closeAllConnections();
    first.server.close();
    first.sessions.events.stop();
    await first.claim.release();
    const second = await startTestServer({
      instance: first.config.instance,
      dataDir: first.dataDir,
      poolSize: 1,
    });
    try {
      expect(second.sessions.pooled).toBe(1);
      const client = new ApiClient(second.url);
      const { status, body } = await client.call("POST", "/api/sessions");
      expect(status).toBe(201);
      expect(body.id).toBe(pooledId);
      const { TerminalClient, PROMPT } = await import("../../tools/terminal-client.ts");
      const term = await TerminalClient.open(second.url, body.id, client.cookie);
      await term.waitFor(PROMPT, 15_000);
      await term.close();
    } finally {
      await second.close();
      await rm(first.dataDir, { recursive: true, force: true }); // second.close() removes only its own
    }
  });

  it("hands out a ready session from the warm pool and refills it", async () => {
    const pooled = await startTestServer({ poolSize: 1 });
    try {
      const waitFor = async (cond: () => boolean) => {
        const deadline = Date.now() + 30_000;
        while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(cond()).toBe(true);
      };
      await waitFor(() => pooled.sessions.pooled === 1);
      expect(pooled.sessions.count).toBe(0);
      const client = new ApiClient(pooled.url);
      const { status, body } = await client.call("POST", "/api/sessions");
      expect(status).toBe(201);
      expect(pooled.sessions.count).toBe(1);
      const { TerminalClient, PROMPT } = await import("../../tools/terminal-client.ts");
      const term = await TerminalClient.open(pooled.url, body.id, client.cookie);
      await term.waitFor(PROMPT, 5000); // drawn while the session waited in the pool
      await term.close();
      await waitFor(() => pooled.sessions.pooled === 1);
      // A pooled session belongs to nobody: no learner can open it, though it exists on the engine.
      const workstations = await pooled.engine.docker.listContainers({
        filters: {
          label: [`${LABEL_INSTANCE}=${pooled.config.instance}`, `${LABEL_ROLE}=workstation`],
        },
      });
      const sessionIds = workstations.map((c) => c.Labels[LABEL_SESSION]);
      expect(sessionIds).toHaveLength(2);
      const waiting = sessionIds.find((id) => id !== body.id)!;
      const stranger = new ApiClient(pooled.url);
      await stranger.call("GET", "/api/progress"); // a learner cookie of its own
      expect(stranger.cookie).not.toBe("");
      expect((await stranger.call("GET", `/api/sessions/${waiting}`)).status).toBe(404);
      expect((await stranger.call("DELETE", `/api/sessions/${waiting}`)).status).toBe(404);
      expect((await client.call("GET", `/api/sessions/${waiting}`)).status).toBe(404);
      expect(pooled.sessions.pooled).toBe(1); // still waiting for its learner
    } finally {
      await pooled.close();
    }
  });

  it("reports the engine's health", async () => {
    const health = await new ApiClient(server.url).call("GET", "/api/health");
    expect(health.status).toBe(200);
    expect(health.body.ok).toBe(true);
    expect(health.body.docker.apiVersion).toMatch(/^1\.\d+$/);
  });

  it("shows a caller from another machine only whether it is healthy; the instructor token shows the rest", async () => {
    // Called through one of this machine's own non-loopback addresses (docker0 at least), the
    // server sees a caller that is not local, as a student's browser on the class network is.
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    expect(outside, "this machine has no non-loopback IPv4 address to call from").toBeDefined();
    const token = "instructor-token-0123456789";
    const open = await startTestServer({ host: "0.0.0.0", instructorToken: token });
    try {
      const base = `http://${outside}:${new URL(open.url).port}`;
      const plain = await fetch(`${base}/api/health`);
      expect(plain.status).toBe(200);
      expect(await plain.json()).toEqual({ ok: true });
      const wrong = await (
        await fetch(`${base}/api/health`, {
          headers: { authorization: "Bearer not-the-token-at-all-xx" },
        })
      ).json();
      expect(wrong).toEqual({ ok: true });
      const instructor = await (
        await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${token}` } })
      ).json();
      expect(instructor.docker.apiVersion).toMatch(/^1\.\d+$/);
      expect(instructor.starts.slots).toBeGreaterThanOrEqual(1);
      expect(instructor.disk.totalBytes).toBeGreaterThan(0);
      const local = await (
        await fetch(`http://127.0.0.1:${new URL(open.url).port}/api/health`)
      ).json();
      expect(local.sessions).toBe(0);
    } finally {
      await open.close();
    }
  });
});
