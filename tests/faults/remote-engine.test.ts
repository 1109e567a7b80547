/**
 * A whole session on a remote engine reached over TCP with TLS (scripts/test-engine.sh 26t:
 * tcp://127.0.0.1, --tlsverify, its own certificates), with nothing of the engine's host used by
 * the server: the home is a volume there, the student's docker CLI reaches the session's proxy
 * through the socket relay (socket-relay.ts) in the workstation and in the check container, and
 * every request goes to the engine over TLS. The default engine is drained, so sessions land on
 * the remote one.
 *
 * Proves, through the student's own terminal: the CLI answers with the remote engine's version;
 * a bind of a home folder serves a file written in the home; a lesson exercise whose checks run
 * the docker CLI in the check container passes (and fails before it is done), its containers in
 * the session's cgroup made on that host; a student on the default engine and the one on the
 * remote engine cannot name, inspect, remove or mount each other's containers or the remote
 * home volume; after a server restart the session is adopted and its CLI works again through a
 * new relay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ApiClient,
  restartTestServer,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { startTlsEngine, stopTlsEngine, type TlsEngine } from "../../tools/tls-engine.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import { WORKSTATION_IMAGE } from "../../sandbox/images/catalog.ts";
import Docker from "dockerode";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let tls: TlsEngine;
let remote: Docker;
const LESSON = "09-sharing-data";
const EXERCISE = "producer-consumer";

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
  server = await startTestServer({ engines: entry });
  server.sessions.setDraining(server.engine, true);
}, 600_000);

afterAll(async () => {
  const instance = server?.config.instance;
  await server?.close();
  if (instance && remote) {
    const filters = { label: [`stowage.instance=${instance}`] };
    for (const c of await remote.listContainers({ all: true, filters }))
      await remote.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await remote.listVolumes({ filters })).Volumes ?? [])
      await remote.getVolume(v.Name).remove({ force: true });
  }
  await stopTlsEngine();
}, 180_000);

/** Runs a command line in the terminal and returns its output up to the marker it prints. */
async function typed(term: TerminalClient, command: string, marker: string): Promise<string> {
  const from = term.output.length;
  term.type(`${command}; echo ${marker.slice(0, 3)}-$((6*7))-${marker.slice(3)}\r`);
  await term.waitFor(new RegExp(`${marker.slice(0, 3)}-42-${marker.slice(3)}`), 90_000, from);
  return term.output.slice(from);
}

describe("a session on a remote engine over TLS", () => {
  const student = { client: undefined as unknown as ApiClient, id: "" };
  const check = async () => {
    const { status, body } = await student.client.call(
      "POST",
      `/api/sessions/${student.id}/checks`,
      {
        lesson: LESSON,
        exercise: EXERCISE,
      },
    );
    expect(status, JSON.stringify(body)).toBe(200);
    return body.tasks as { id: string; passed: boolean; message: string }[];
  };

  it("gives the student a docker CLI on that engine, with their home's folders to bind", async () => {
    student.client = new ApiClient(server.url);
    const made = await student.client.call("POST", "/api/sessions");
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    student.id = made.body.id;
    const session = server.sessions.get(student.id)!;
    expect(session.engine.name).toBe("e26t");
    expect(session.engine.remote).toBe(true);
    // The workstation is on the remote engine, with no bind of anything of this server.
    const workstation = await remote.getContainer(session.workstationId!).inspect();
    expect(workstation.HostConfig.Binds ?? []).toEqual([]);
    // Bounded as a whole on that host too: its cgroup made there by the host helper.
    expect(session.scope.cgroupParent).toMatch(new RegExp(`/stowage/.*${student.id}`));

    const term = await TerminalClient.open(server.url, student.id, student.client.cookie);
    await term.waitFor(PROMPT, 60_000);
    const version = await typed(
      term,
      "docker version --format 'server={{.Server.Version}}'",
      "verA",
    );
    expect(version).toMatch(/server=26\./);
    const bound = await typed(
      term,
      "mkdir -p ~/site && echo remote-hi > ~/site/index.html && docker run --rm -v ~/site:/site:ro busybox cat /site/index.html",
      "binB",
    );
    expect(bound).toContain("remote-hi");
    await term.close();
  });

  it("checks an exercise whose checks run the docker CLI in the check container", async () => {
    const before = await check();
    expect(before.length).toBe(3);
    expect(before.some((t) => t.passed)).toBe(false);
    const solution = await readFile(
      join("lessons", LESSON, "exercises", EXERCISE, "solution.sh"),
      "utf8",
    );
    const up = await fetch(
      `${server.url}/api/sessions/${student.id}/files/upload?path=solution.sh`,
      { method: "PUT", headers: { cookie: student.client.cookie }, body: solution },
    );
    expect(up.status, await up.text()).toBe(201);
    const term = await TerminalClient.open(server.url, student.id, student.client.cookie);
    await term.waitFor(PROMPT, 60_000);
    const ran = await typed(term, "bash solution.sh >/dev/null 2>&1; echo exit=$?", "solC");
    expect(ran).toContain("exit=0");
    await term.close();
    const producer = await remote.getContainer(`stw-${student.id}-producer`).inspect();
    expect(producer.HostConfig.CgroupParent).toBe(
      server.sessions.get(student.id)!.scope.cgroupParent,
    );
    const after = await check();
    expect(
      after.map((t) => [t.id, t.passed, t.message]),
      JSON.stringify(after),
    ).toEqual(after.map((t) => [t.id, true, t.message]));
  });

  it("keeps a student on the remote engine and one on the default engine apart, both ways", async () => {
    // A student on the default engine, beside the remote one's.
    const remoteEngine = server.sessions.get(student.id)!.engine;
    server.sessions.setDraining(server.engine, false);
    server.sessions.setDraining(remoteEngine, true);
    const neighbour = new ApiClient(server.url);
    const made = await neighbour.call("POST", "/api/sessions");
    server.sessions.setDraining(remoteEngine, false);
    server.sessions.setDraining(server.engine, true);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const neighbourId: string = made.body.id;
    expect(server.sessions.get(neighbourId)!.engine.name).toBe("default");
    const secret = await studentShell(
      server,
      neighbourId,
      "docker run -d --name local-secret busybox sh -c 'echo l0cal > /x; sleep 600' && echo ok",
    );
    expect(secret.stdout, secret.output).toContain("ok");
    const producer = await remote.getContainer(`stw-${student.id}-producer`).inspect();
    const remoteRefs = [
      "producer",
      producer.Id,
      producer.Id.slice(0, 12),
      `stw-${student.id}-producer`,
    ];
    for (const ref of remoteRefs) {
      const r = await studentShell(
        server,
        neighbourId,
        `docker inspect ${ref}; docker logs ${ref}; docker rm -f ${ref}`,
      );
      expect(r.output).not.toMatch(/"Id": "[0-9a-f]{64}"/);
    }
    // The remote student's home volume: neither named nor mounted from the other engine, nor
    // from their own (it is infrastructure, not theirs to name).
    for (const id of [neighbourId, student.id]) {
      const r = await studentShell(
        server,
        id,
        `docker run --rm -v stw-${student.id}--home:/h busybox ls /h; docker volume inspect stw-${student.id}--home; docker volume rm stw-${student.id}--home`,
      );
      // The name is scoped to the caller: at most a new, empty volume of their own.
      expect(r.output).not.toContain("index.html");
    }
    const home = await studentShell(server, student.id, "cat ~/site/index.html");
    expect(home.stdout.trim(), home.output).toBe("remote-hi");
    const fromRemote = await studentShell(
      server,
      student.id,
      "docker inspect local-secret; docker exec local-secret cat /x; docker ps -a --format '{{.Names}}'",
    );
    expect(fromRemote.output).not.toContain("l0cal");
    expect(fromRemote.stdout).not.toContain("local-secret");
    // Both students' things are still there.
    expect((await remote.getContainer(`stw-${student.id}-producer`).inspect()).State.Running).toBe(
      true,
    );
    await remote.getVolume(`stw-${student.id}--home`).inspect();
    const still = await studentShell(server, neighbourId, "docker exec local-secret cat /x");
    expect(still.stdout.trim(), still.output).toBe("l0cal");
  });

  it("is adopted by a restarted server, whose new relay carries the CLI again", async () => {
    server = await restartTestServer(server);
    server.sessions.setDraining(server.engine, true);
    const session = server.sessions.get(student.id)!;
    expect(session.engine.name).toBe("e26t");
    const term = await TerminalClient.open(server.url, student.id, student.client.cookie);
    await term.waitFor(PROMPT, 60_000);
    const listed = await typed(
      term,
      "docker ps --format '{{.Names}}' | sort | tr '\\n' ' '",
      "psD",
    );
    expect(listed).toContain("auditor consumer producer");
    await term.close();
    expect((await check()).every((t) => t.passed)).toBe(true);
  });
});
