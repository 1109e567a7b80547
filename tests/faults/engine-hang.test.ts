/**
 * A remote engine that hangs rather than refuses (its dockerd stopped with SIGSTOP: the kernel
 * still accepts TCP connections, nothing answers), the way a host behind a dead network link
 * looks. Proves: the student there is told within seconds and the session says engine-lost;
 * the check button answers at once instead of waiting on that engine; "Reset my sandbox" starts
 * again on the engine that answers within a bounded time, says the files stayed behind, and
 * keeps progress; the other student, new sessions and /api/health are untouched and prompt; a
 * server stopped during the hang stops in bounded time; when the engine answers again, the
 * ended session's objects there are removed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import Docker from "dockerode";
import {
  ApiClient,
  removeInstanceCgroupsHere,
  removeInstanceObjectsUntilGone,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { startTlsEngine, stopTlsEngine, type TlsEngine } from "../../tools/tls-engine.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import { WORKSTATION_IMAGE } from "../../sandbox/images/catalog.ts";
import { ENGINE_LOST_REMOTE } from "../../sandbox/sessions/session.ts";

const run = promisify(execFile);
const PID_FILE = "/var/lib/stowage-e26t/dockerd.pid";
const TOKEN = "engine-hang-test-token-0123456789";
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server | undefined;
let tls: TlsEngine;
let remote: Docker;
let frozen = false;
/** The data folder of the server the last test stops (keeping its sessions), removed at the end. */
let stoppedDataDir = "";
let stoppedInstance = "";

async function dockerdPid(): Promise<number> {
  return Number((await readFile(PID_FILE, "utf8")).trim());
}
async function freeze(): Promise<void> {
  process.kill(await dockerdPid(), "SIGSTOP");
  frozen = true;
}
async function thaw(): Promise<void> {
  if (!frozen) return;
  process.kill(await dockerdPid(), "SIGCONT");
  frozen = false;
}

beforeAll(async () => {
  tls = await startTlsEngine();
  const entry = `${tls.address}?name=e26t&tls=${tls.tlsDir}&subnets=${tls.sessionSubnets}`;
  remote = engineFrom(entry, { concurrentStarts: 1 }).docker;
  await ensureImagesOnEngines(
    [
      { name: "default", docker: new Docker() },
      { name: "e26t", docker: remote },
    ],
    { only: [WORKSTATION_IMAGE, "busybox"], progress: null },
  );
  server = await startTestServer({ engines: entry, instructorToken: TOKEN });
}, 600_000);

afterAll(async () => {
  await thaw();
  const instance = server?.config.instance ?? stoppedInstance;
  await server?.close();
  // Requests the server sent while the engine was frozen are served after it thaws (a check
  // container may appear after a first removal): removed until none is left.
  if (instance && remote) await removeInstanceObjectsUntilGone(remote, instance);
  // The last test's stop kept the sessions (as a restart does): the default engine's too.
  if (instance && stoppedInstance) {
    await removeInstanceObjectsUntilGone(new Docker(), instance);
    await removeInstanceCgroupsHere(instance);
  }
  await stopTlsEngine();
  if (stoppedDataDir) {
    await unmountBelow(stoppedDataDir);
    await rm(stoppedDataDir, { recursive: true, force: true });
  }
}, 180_000);

const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const t0 = Date.now();
  const value = await run();
  return [value, Date.now() - t0];
};

async function engineState(name: string): Promise<string | undefined> {
  const { body } = await new ApiClient(server!.url).call("GET", "/api/health");
  return (body as { engines: { name: string; state: string }[] }).engines.find(
    (e) => e.name === name,
  )?.state;
}

describe("a remote engine that hangs", () => {
  const remoteStudent = { client: undefined as unknown as ApiClient, id: "" };
  const localStudent = { client: undefined as unknown as ApiClient, id: "" };
  let remoteTerminal: TerminalClient;
  let localTerminal: TerminalClient;
  /** The session left behind on the hung engine. */
  let lostSession = "";

  it("before: one student on the remote engine, one on the default, both with a terminal", async () => {
    const s = server!;
    // The host helper the start made for the remote engine is the one running there (the
    // start's cleanup of the instance's leftovers used to remove it, and it was made again).
    const helper = s.sessions.hostHelper(s.sessions.fleet.byName("e26t")!)!;
    const helpers = await remote.listContainers({
      filters: { label: [`stowage.instance=${s.config.instance}`, "stowage.role=host-helper"] },
    });
    expect(helpers.map((c) => c.Id)).toEqual([await helper.currentId()]);
    expect(helper.madeCount).toBe(1);

    s.sessions.setDraining(s.engine, true);
    remoteStudent.client = new ApiClient(s.url);
    remoteStudent.id = (await remoteStudent.client.call("POST", "/api/sessions")).body.id;
    s.sessions.setDraining(s.engine, false);
    s.sessions.setDraining(s.sessions.fleet.byName("e26t")!, true);
    localStudent.client = new ApiClient(s.url);
    localStudent.id = (await localStudent.client.call("POST", "/api/sessions")).body.id;
    s.sessions.setDraining(s.sessions.fleet.byName("e26t")!, false);
    expect(s.sessions.get(remoteStudent.id)!.engine.name).toBe("e26t");
    expect(s.sessions.get(localStudent.id)!.engine.name).toBe("default");

    const lesson = "02-named-volumes";
    const visit = await remoteStudent.client.call("POST", "/api/progress/visits", { lesson });
    expect(visit.status).toBe(200);
    const made = await studentShell(
      s,
      remoteStudent.id,
      "echo remote-work > work.txt && docker run -d --name keeper busybox sleep 3600 >/dev/null && echo ok",
    );
    expect(made.stdout.trim(), made.output).toBe("ok");
    remoteTerminal = await TerminalClient.open(
      s.url,
      remoteStudent.id,
      remoteStudent.client.cookie,
    );
    localTerminal = await TerminalClient.open(s.url, localStudent.id, localStudent.client.cookie);
    await remoteTerminal.waitFor(PROMPT, 60_000);
    await localTerminal.waitFor(PROMPT, 60_000);
  });

  it("tells its student within seconds, and nobody else notices", async () => {
    const s = server!;
    const e26t = s.sessions.fleet.byName("e26t")!;
    await freeze();
    // A newcomer whose sandbox is being made there as it freezes (before the probes notice).
    s.sessions.setDraining(s.engine, true);
    const caught = timed(() => new ApiClient(s.url).call("POST", "/api/sessions"));
    await expect.poll(() => s.sessions.ownedOn(e26t), { timeout: 5000, interval: 20 }).toBe(2);
    s.sessions.setDraining(s.engine, false);
    const [, toldMs] = await timed(() => remoteTerminal.waitFor(/stopped answering/, 30_000));
    expect(remoteTerminal.controls).toContainEqual({ type: "notice", message: ENGINE_LOST_REMOTE });
    const state = await remoteStudent.client.call("GET", `/api/sessions/${remoteStudent.id}`);
    expect(state.body).toMatchObject({ state: "engine-lost", message: ENGINE_LOST_REMOTE });

    const [health, healthMs] = await timed(() => engineState("e26t"));
    expect(health).toBe("down");
    // The probes go on every 2 s; each gives up its requests rather than leaving them open. (A
    // round of the session's disk-quota reading, started before the engine was marked down,
    // waits on it: one round, not one more every few seconds.)
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const before = await openConnections(tls.address);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const after = await openConnections(tls.address);
    expect(
      after - before,
      `connections to the engine: ${before} then ${after}`,
    ).toBeLessThanOrEqual(1);

    // The check button answers now, saying why, rather than waiting on the hung engine.
    const [checked, checkMs] = await timed(() =>
      remoteStudent.client.call("POST", `/api/sessions/${remoteStudent.id}/checks`, {
        lesson: "02-named-volumes",
        exercise: "keep-the-data",
      }),
    );
    expect(checked.status, JSON.stringify(checked.body)).toBe(503);
    expect(JSON.stringify(checked.body)).toMatch(/stopped answering/);

    // The other student's terminal echoes and their docker CLI works.
    const from = localTerminal.output.length;
    localTerminal.type("docker run --rm busybox echo still-$((6*7))\r");
    await localTerminal.waitFor(/still-42/, 30_000, from);
    // A newcomer is placed on the engine that answers.
    const [created, createMs] = await timed(() =>
      new ApiClient(s.url).call("POST", "/api/sessions"),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(s.sessions.get(created.body.id)!.engine.name).toBe("default");
    // The one caught starting there is told to try again, not left waiting.
    const [caughtAnswer, caughtMs] = await caught;
    expect(caughtAnswer.status, JSON.stringify(caughtAnswer.body)).toBe(503);
    expect(caughtAnswer.body.error).toMatch(/stopped answering while it started; try again/);
    console.log(
      `engine hang: told in ${toldMs} ms; health ${healthMs} ms; check ${checkMs} ms; new session ${createMs} ms; one caught starting there answered in ${caughtMs} ms`,
    );
    await s.sessions.destroy(created.body.id, "test done");
  }, 90_000);

  it("starts its student again on the other engine in bounded time, progress kept, files said lost", async () => {
    const s = server!;
    const [reset, resetMs] = await timed(() =>
      remoteStudent.client.call("POST", `/api/sessions/${remoteStudent.id}/reset`, {
        keepHome: true,
      }),
    );
    console.log(`engine hang: reset answered ${reset.status} in ${resetMs} ms`);
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    const fresh = reset.body.id as string;
    expect(s.sessions.get(fresh)!.engine.name).toBe("default");
    const terminal = await TerminalClient.open(s.url, fresh, remoteStudent.client.cookie);
    try {
      await terminal.waitFor(/your files could not be kept/, 30_000);
      await terminal.waitFor(PROMPT, 30_000);
    } finally {
      await terminal.close();
    }
    const home = await studentShell(s, fresh, "ls -A ~ | grep -c work.txt || true");
    expect(home.stdout.trim()).toBe("0");
    const progress = await remoteStudent.client.call("GET", "/api/progress");
    expect(JSON.stringify(progress.body)).toContain("02-named-volumes");
    lostSession = remoteStudent.id;
    remoteStudent.id = fresh;
  }, 120_000);

  it("removes the ended session's objects there once the engine answers again", async () => {
    await thaw();
    await expect.poll(() => engineState("e26t"), { timeout: 30_000, interval: 500 }).toBe("up");
    // Every container, volume and network of the ended session (its home volume among them) and
    // of the one caught starting: nothing of the instance but its host helper.
    const filters = { label: [`stowage.instance=${server!.config.instance}`] };
    await expect
      .poll(
        async () => [
          ...(await remote.listContainers({ all: true, filters }))
            .filter((c) => c.Labels["stowage.role"] !== "host-helper")
            .map((c) => c.Names[0]),
          ...((await remote.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name),
          ...(await remote.listNetworks({ filters })).map((n) => n.Name),
        ],
        { timeout: 60_000, interval: 1000 },
      )
      .toEqual([]);
    expect(lostSession).not.toBe("");
  }, 120_000);

  it("lets the server stop in bounded time while an engine hangs", async () => {
    const s = server!;
    // A fresh session there, then the engine freezes again.
    s.sessions.setDraining(s.engine, true);
    const client = new ApiClient(s.url);
    const again = await client.call("POST", "/api/sessions");
    s.sessions.setDraining(s.engine, false);
    expect(s.sessions.get(again.body.id)!.engine.name).toBe("e26t");
    await freeze();
    await expect.poll(() => engineState("e26t"), { timeout: 30_000, interval: 500 }).toBe("down");
    await localTerminal.close();
    await remoteTerminal.close();
    // An operator's restart (SIGTERM keeps the sessions for the next start to adopt).
    const [, stopMs] = await timed(() => s.close({ keepSessions: true }));
    console.log(`engine hang: server stopped in ${stopMs} ms`);
    server = undefined;
    stoppedDataDir = s.dataDir;
    stoppedInstance = s.config.instance;
    expect(stopMs).toBeLessThan(30_000);
  }, 120_000);
});

/** Open TCP connections (established or connecting) from this host to tcp://host:port. */
async function openConnections(address: string): Promise<number> {
  const port = new URL(address).port;
  const { stdout } = await run("ss", ["-Htn", `( dport = :${port} )`]);
  return stdout.split("\n").filter((line) => /^(ESTAB|SYN-SENT)\s/.test(line)).length;
}
