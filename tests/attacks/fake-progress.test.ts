/**
 * Faking progress: checks decide which tasks a learner passed (recorded, shown to the instructor),
 * so nothing a student controls may change what a check sees. ddc0117 ran checks with the
 * student's docker CLI, as the student, in the student's workstation: a `~/.docker/config.json`
 * whose context named a fake daemon in the home, or a `docker` replaced in the workstation (a
 * student root in it could), made every task of lesson 01 pass without doing any.
 * Here the lesson 01 exercise is "done" only in fakes; no check may pass, no progress be recorded.
 */
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { chmod, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
const LESSON = "01-containers-are-ephemeral";
const EXERCISE = "writable-layer";

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** A new learner and their session. */
async function learner(): Promise<{ api: ApiClient; id: string }> {
  const api = new ApiClient(server.url);
  const id = (await api.call("POST", "/api/sessions")).body.id as string;
  return { api, id };
}

/** What the fakes answer: lesson 01's three tasks look done (keeper has the note and was restarted, doomed is new). */
function fakeExec(cmd: string[]): { stdout: string; exitCode: number } {
  if (cmd[0] === "cat") return { stdout: "remember me\n", exitCode: 0 };
  if (cmd[0] === "stat") return { stdout: "1000\n", exitCode: 0 };
  return { stdout: "", exitCode: 1 }; // `test -e /data/important.txt` in doomed: not there
}
const fakeContainer = (name: string) => ({
  Id: createHash("sha256").update(name).digest("hex"),
  Name: `/${name}`,
  Created: "2030-01-01T00:00:00Z",
  State: {
    Status: "running",
    Running: true,
    StartedAt: "2030-01-01T00:00:00Z",
    FinishedAt: "0001-01-01T00:00:00Z",
    ExitCode: 0,
  },
  Config: { Image: "debian:bookworm-slim", Labels: {}, Env: [], Cmd: ["sleep", "infinity"] },
  HostConfig: {},
  Mounts: [],
});

/** A fake Docker engine on a unix socket: enough of the API for `docker inspect` and `docker exec`. */
async function fakeDaemon(socketPath: string): Promise<HttpServer> {
  const execs = new Map<string, string[]>();
  const versioned = (url: string) => url.replace(/^\/v1\.\d+/, "");
  const readBody = async (req: IncomingMessage) => {
    let text = "";
    for await (const c of req) text += c;
    return text;
  };
  const fake = createServer(async (req, res) => {
    const path = versioned(new URL(req.url ?? "/", "http://x").pathname);
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { "content-type": "application/json", "api-version": "1.41" })
        .end(JSON.stringify(body));
    if (path === "/_ping")
      return res
        .writeHead(200, { "api-version": "1.41", "content-type": "text/plain", ostype: "linux" })
        .end("OK");
    let m = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (m) return json(200, fakeContainer(decodeURIComponent(m[1]!)));
    m = /^\/containers\/([^/]+)\/exec$/.exec(path);
    if (m) {
      const id = randomBytes(32).toString("hex");
      execs.set(id, (JSON.parse(await readBody(req)) as { Cmd: string[] }).Cmd);
      return json(201, { Id: id });
    }
    m = /^\/exec\/([^/]+)\/json$/.exec(path);
    if (m)
      return json(200, {
        ID: m[1],
        Running: false,
        ExitCode: fakeExec(execs.get(m[1]!) ?? []).exitCode,
        ProcessConfig: {},
      });
    json(404, { message: `no such thing: ${path}` });
  });
  // `docker exec` attaches by upgrading the connection, then reads the multiplexed stream.
  fake.on("upgrade", (req, socket) => {
    const id = /\/exec\/([^/]+)\/start$/.exec(versioned(req.url ?? ""))?.[1] ?? "";
    const { stdout } = fakeExec(execs.get(id) ?? []);
    socket.write(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1.41\r\n\r\n",
    );
    if (stdout) {
      const head = Buffer.alloc(8);
      head[0] = 1;
      head.writeUInt32BE(Buffer.byteLength(stdout), 4);
      socket.write(Buffer.concat([head, Buffer.from(stdout)]));
    }
    socket.end();
  });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve) => fake.listen(socketPath, resolve));
  await chmod(socketPath, 0o777);
  return fake;
}

/** The fake, as a `docker` script: the same answers for the same commands. */
const FAKE_DOCKER = `#!/bin/bash
case "$1" in
  inspect) case "$*" in
      *StartedAt*) echo "true 2030-01-01T00:00:00Z" ;;
      *Config.Image*) echo "true debian:bookworm-slim" ;;
      *) echo true ;;
    esac ;;
  exec) case "$3" in
      cat) echo "remember me" ;;
      stat) echo 1000 ;;
      *) exit 1 ;;
    esac ;;
  *) exit 0 ;;
esac
`;

async function checkAndProgress(api: ApiClient, id: string) {
  const checked = await api.call("POST", `/api/sessions/${id}/checks`, {
    lesson: LESSON,
    exercise: EXERCISE,
  });
  expect(checked.status).toBe(200);
  const progress = await api.call("GET", "/api/progress");
  return {
    tasks: checked.body.tasks as { id: string; passed: boolean; message: string }[],
    recorded: progress.body.lessons[LESSON]?.tasks ?? {},
  };
}

describe("progress cannot be faked", () => {
  it("a docker context in ~/.docker/config.json naming a fake daemon in the home passes no task", async () => {
    const { api, id } = await learner();
    const home = server.sessions.get(id)!.scope.workspaceDir;
    // The student's fake daemon listens in their home (here the test plays that process).
    const meta = `~/.docker/contexts/meta/${createHash("sha256").update("fake").digest("hex")}`;
    const made = await studentShell(
      server,
      id,
      `mkdir -p ~/.fake ${meta}
printf '{"currentContext":"fake"}' > ~/.docker/config.json
printf '{"Name":"fake","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///home/student/.fake/docker.sock","SkipTLSVerify":false}}}' > ${meta}/meta.json`,
    );
    expect(made.exitCode, made.output).toBe(0);
    const fake = await fakeDaemon(join(home, ".fake", "docker.sock"));
    try {
      // The student's own shell now talks to the fake: the lie is in place.
      const seen = await studentShell(
        server,
        id,
        "docker inspect --format '{{.State.Running}} {{.Config.Image}}' doomed && docker exec keeper cat /data/note.txt",
      );
      expect(seen.stdout).toBe("true debian:bookworm-slim\nremember me\n");
      const { tasks, recorded } = await checkAndProgress(api, id);
      expect(tasks.map((t) => [t.id, t.passed])).toEqual([
        ["note-written", false],
        ["survives-restart", false],
        ["gone-after-rm", false],
      ]);
      expect(recorded).toEqual({});
    } finally {
      fake.close();
    }
  });

  it("a docker replaced in the workstation (as a student who is root there could) passes no task", async () => {
    const { api, id } = await learner();
    const session = server.sessions.get(id)!;
    const info = await server.engine.docker.getContainer(session.workstationId!).inspect();
    const merged = (info.GraphDriver?.Data as Record<string, string> | undefined)?.MergedDir;
    expect(merged, "the workstation's root filesystem on the host").toBeTruthy();
    // Every docker the workstation's PATH could find, and a fake one in the home on top.
    for (const path of ["usr/local/bin/docker", "usr/bin/docker"]) {
      await writeFile(join(merged!, path), FAKE_DOCKER, { mode: 0o755 });
    }
    await writeFile(join(session.scope.workspaceDir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    const seen = await studentShell(server, id, "docker exec keeper cat /data/note.txt");
    expect(seen.stdout).toBe("remember me\n");
    const { tasks, recorded } = await checkAndProgress(api, id);
    expect(
      tasks.every((t) => !t.passed),
      JSON.stringify(tasks),
    ).toBe(true);
    expect(recorded).toEqual({});
  });

  it("a ~/.jq that redefines select() does not change what a check's jq filter means", async () => {
    const { api, id } = await learner();
    // db mounts another volume, not pgdata: the check (a shell check's jq filter) must see that.
    const made = await studentShell(
      server,
      id,
      `echo 'def select(f): .;' > ~/.jq
docker run -d --name db -v elsewhere:/var/lib/postgresql/data busybox sleep 3600 >/dev/null`,
      60_000,
    );
    expect(made.exitCode, made.output).toBe(0);
    const checked = await api.call("POST", `/api/sessions/${id}/checks`, {
      lesson: "03-anonymous-volumes",
      exercise: "find-the-strays",
    });
    const db = (checked.body.tasks as { id: string; passed: boolean; message: string }[]).find(
      (t) => t.id === "db-named-volume",
    )!;
    expect(db.passed).toBe(false);
    expect(db.message).toMatch(/pgdata is not mounted at \/var\/lib\/postgresql\/data/);
  });

  it("the student's processes cannot see, trace or stop a running check", async () => {
    const { api, id } = await learner();
    // A watcher in the workstation, as the student: every process it can see while checks run.
    const watching = studentShell(
      server,
      id,
      "for i in $(seq 60); do ps -eo args; sleep 0.05; done",
      30_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++)
      await api.call("POST", `/api/sessions/${id}/checks`, { lesson: LESSON, exercise: EXERCISE });
    const seen = (await watching).stdout;
    expect(seen).toContain("ps -eo args");
    expect(seen).not.toMatch(/docker (inspect|exec)|State\.Running/);
    // Nor reach the check container through their CLI, by its id or its name.
    const checker = await server.sessions.get(id)!.checkContainer();
    for (const target of [checker, checker.slice(0, 12), "-checks"]) {
      const tried = await studentShell(
        server,
        id,
        `docker exec ${target} true || docker kill ${target} || docker inspect ${target}`,
      );
      expect(tried.exitCode, tried.output).not.toBe(0);
    }
    expect((await server.engine.docker.getContainer(checker).inspect()).State.Running).toBe(true);
  });

  it("still passes the tasks when they are really done", async () => {
    const { api, id } = await learner();
    const done = await studentShell(
      server,
      id,
      `docker run -d --name keeper debian:bookworm-slim sleep infinity >/dev/null
docker exec keeper sh -c 'mkdir -p /data && echo "remember me" > /data/note.txt'
sleep 1.1; docker stop -t 1 keeper >/dev/null && docker start keeper >/dev/null
docker run -d --name doomed debian:bookworm-slim sleep infinity >/dev/null
docker rm -f doomed >/dev/null && docker run -d --name doomed debian:bookworm-slim sleep infinity >/dev/null`,
      60_000,
    );
    expect(done.exitCode, done.output).toBe(0);
    const { tasks, recorded } = await checkAndProgress(api, id);
    expect(
      tasks.every((t) => t.passed),
      JSON.stringify(tasks),
    ).toBe(true);
    expect(Object.keys(recorded).sort()).toEqual([
      "writable-layer/gone-after-rm",
      "writable-layer/note-written",
      "writable-layer/survives-restart",
    ]);
    // The check container gone behind the server's back (an admin's docker rm): the next check makes a new one.
    const session = server.sessions.get(id)!;
    const before = await session.checkContainer();
    await server.engine.docker.getContainer(before).remove({ force: true });
    await expect(server.engine.docker.getContainer(before).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    const again = await checkAndProgress(api, id);
    expect(
      again.tasks.every((t) => t.passed),
      JSON.stringify(again.tasks),
    ).toBe(true);
    expect(await session.checkContainer()).not.toBe(before);
  });
});
