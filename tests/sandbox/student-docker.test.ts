/**
 * What a student types works as on their own machine, in their own names, and never shows the
 * engine's real names, paths or other sessions' objects. The tests share one session, but each
 * makes the containers and volumes it uses (its own names), so any one of them runs alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let sessionId: string;
const sh = async (script: string) => {
  const result = await studentShell(server, sessionId, script, 60_000);
  return { ...result, all: result.output };
};

beforeAll(async () => {
  server = await startTestServer();
  const client = new ApiClient(server.url);
  sessionId = (await client.call("POST", "/api/sessions")).body.id;
});
afterAll(async () => {
  await server?.close();
});

describe("the student's docker CLI", () => {
  it("makes the student's containers and shell the OOM killer's choice before the server", async () => {
    const r = await sh(
      "docker run -d --name oomer busybox sleep 60 >/dev/null && docker run -d --name oomer2 --oom-score-adj 800 busybox sleep 60 >/dev/null && echo ok",
    );
    expect(r.stdout.trim(), r.all).toBe("ok");
    const docker = server.engine.docker;
    const adj = async (id: string) => {
      const pid = (await docker.getContainer(id).inspect()).State.Pid;
      return (await readFile(`/proc/${pid}/oom_score_adj`, "utf8")).trim();
    };
    expect(await adj(`stw-${sessionId}-oomer`)).toBe("500");
    expect(await adj(`stw-${sessionId}-oomer2`)).toBe("800");
    expect(await adj(server.sessions.get(sessionId)!.workstationId!)).toBe("500");
    // The server (this process) goes between them and the engine (0): proxy/oom-order.ts.
    expect((await readFile("/proc/self/oom_score_adj", "utf8")).trim()).toBe("250");
    await sh("docker rm -f oomer oomer2 >/dev/null");
  });

  it("creates, lists and inspects a named volume under the student's name", async () => {
    const r = await sh(
      "docker volume create app-data && docker volume ls --format '{{.Name}}' && docker volume inspect app-data --format '{{.Driver}} {{.Mountpoint}}'",
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.split("\n")).toContain("app-data");
    expect(r.stdout).toContain("local /var/lib/docker/volumes/app-data/_data");
    // The engine holds the session-scoped name.
    const volumes = await server.engine.docker.listVolumes();
    expect(volumes.Volumes!.map((v) => v.Name)).toContain(`stw-${sessionId}-app-data`);
  });

  it("keeps data in a volume after the container that wrote it is removed", async () => {
    const r = await sh(
      [
        "docker volume create kept-data >/dev/null",
        "docker run --name writer -v kept-data:/data busybox sh -c 'echo kept > /data/note.txt'",
        "docker rm writer >/dev/null",
        "docker run --rm -v kept-data:/data busybox cat /data/note.txt",
      ].join(" && "),
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim()).toBe("kept");
  });

  it("backs a volume up into the workspace with $(pwd) and a helper container", async () => {
    const r = await sh(
      [
        "docker run --rm -v backed-up:/data busybox sh -c 'echo kept > /data/note.txt'",
        "mkdir -p backup && docker run --rm -v backed-up:/data -v $(pwd)/backup:/backup busybox tar czf /backup/b.tgz -C /data . && tar tzf backup/b.tgz",
      ].join(" && "),
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain("./note.txt");
    const session = server.sessions.get(sessionId)!;
    const archive = await readFile(join(session.scope.workspaceDir, "backup", "b.tgz"));
    expect(archive.length).toBeGreaterThan(20);
  });

  it("shows containers with the student's names, and inspect shows no host paths or engine names", async () => {
    const r = await sh(
      "docker run -d --name web -v $(pwd):/srv:ro -v app-data:/data busybox sleep 120 >/dev/null && docker ps --format '{{.Names}}' && docker inspect web",
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("web");
    expect(r.stdout).toContain('"Name": "/web"');
    expect(r.stdout).toContain('"Source": "/home/student"');
    expect(r.stdout).not.toContain(`stw-${sessionId}`);
    expect(r.stdout).not.toContain(server.dataDir);
    expect(r.stdout).not.toContain("stowage.session");
    expect(r.stdout).not.toContain("100000.100000");
  });

  it("runs exec, logs, stop, start, restart and rm -f", async () => {
    const r = await sh(
      [
        "docker run -d --name talker busybox sh -c 'echo hello-logs; sleep 300' >/dev/null",
        "docker exec talker sh -c 'echo from-exec'",
        "for i in $(seq 50); do docker logs talker | grep -q hello-logs && break; sleep 0.1; done; docker logs talker",
        "docker stop -t 1 talker >/dev/null && docker ps -a --filter name=talker --format '{{.Status}}'",
        "docker start talker >/dev/null && docker restart -t 1 talker >/dev/null && docker ps --filter name=talker --format '{{.Names}}'",
        "docker rm -f talker",
      ].join(" && "),
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain("from-exec");
    expect(r.stdout).toContain("hello-logs");
    expect(r.stdout).toMatch(/Exited/);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("talker");
  });

  it("publishes -p on the workstation's localhost, shows it in ps and port, and refuses a taken port", async () => {
    const r = await sh(
      [
        "docker run -d --name site -p 8080:80 nginx >/dev/null",
        "for i in $(seq 50); do curl -fs localhost:8080 >/dev/null && break; sleep 0.2; done",
        "curl -fs localhost:8080 | grep -o 'Welcome to nginx'",
        "docker ps --filter name=site --format '{{.Ports}}'",
        "docker port site",
      ].join(" && "),
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain("Welcome to nginx");
    expect(r.stdout).toContain("0.0.0.0:8080->80/tcp");
    expect(r.stdout).toMatch(/80\/tcp -> 0\.0\.0\.0:8080/);
    const clash = await sh("docker run -d --name site2 -p 8080:80 nginx");
    expect(clash.exitCode).not.toBe(0);
    expect(clash.all).toMatch(/port is already allocated/);
    const stopped = await sh(
      "docker rm -f site site2 >/dev/null; for i in $(seq 25); do curl -fs -m 1 localhost:8080 >/dev/null || break; sleep 0.2; done; curl -fs -m 2 localhost:8080; echo exit=$?",
    );
    expect(stopped.stdout).toContain("exit=7"); // connection refused: the forwarder went with the container
  });

  it("follows logs and lists the session's own events", async () => {
    const r = await sh(
      [
        "docker run -d --name ticker busybox sh -c 'for i in 1 2 3; do echo tick-$i; sleep 0.3; done; sleep 30' >/dev/null",
        "timeout 3 docker logs -f ticker; true",
        "docker events --since 5m --until \"$(date +%s)\" --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' | sort -u",
        "docker rm -f ticker >/dev/null",
      ].join("; "),
    );
    expect(r.stdout).toContain("tick-3");
    expect(r.stdout).toContain("create ticker");
    expect(r.stdout).toContain("start ticker");
    expect(r.stdout).not.toContain("workstation");
    expect(r.stdout).not.toContain("stw-");
  });

  it("passes stdin through and closes it (echo | docker run -i)", async () => {
    const r = await sh("echo piped-in | docker run -i --rm busybox cat");
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim()).toBe("piped-in");
  });

  it("copies files in and out with docker cp", async () => {
    const r = await sh(
      "docker run -d --name copier busybox sleep 120 >/dev/null && echo copied > in.txt && docker cp in.txt copier:/tmp/in.txt && docker cp copier:/tmp/in.txt out.txt && cat out.txt",
    );
    await sh("docker rm -f copier >/dev/null");
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim()).toBe("copied");
  });

  it("gives anonymous volumes for -v /path and an image's VOLUME, and removes them with rm -v and --rm", async () => {
    const before = await sh("docker volume ls -q | wc -l");
    const r = await sh(
      "docker run --name anon -v /scratch busybox true && docker inspect anon --format '{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}'",
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[a-f0-9]{64} \/scratch$/);
    const during = await sh("docker volume ls -q | wc -l");
    expect(Number(during.stdout)).toBe(Number(before.stdout) + 1);
    expect((await sh("docker rm -v anon")).exitCode).toBe(0);
    expect(Number((await sh("docker volume ls -q | wc -l")).stdout)).toBe(Number(before.stdout));
    expect((await sh("docker run --rm -v /scratch busybox true")).exitCode).toBe(0);
    // The engine's destroy event removes it, shortly after the container is gone.
    const after = await sh(
      `for i in $(seq 50); do [ "$(docker volume ls -q | wc -l)" -le ${Number(before.stdout)} ] && break; sleep 0.1; done; docker volume ls -q | wc -l`,
    );
    expect(Number(after.stdout)).toBe(Number(before.stdout));
  });

  it("mounts a tmpfs", async () => {
    const r = await sh(
      "docker run --rm --tmpfs /cache:size=8m busybox sh -c 'mount | grep /cache'",
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toMatch(/tmpfs on \/cache type tmpfs/);
  });

  it("lists images and says why it cannot pull", async () => {
    const images = await sh("docker images --format '{{.Repository}}:{{.Tag}}'");
    expect(images.stdout).toContain("busybox:latest");
    const pull = await sh("docker pull alpine");
    expect(pull.exitCode).not.toBe(0);
    expect(pull.all).toMatch(/this sandbox does not allow pulling or importing images/);
  });

  it("scopes prune to the session", async () => {
    // From API 1.42 (Engine 23) prune keeps named volumes unless --all, which API 1.41 lacks.
    const r =
      await sh(`all=; [ "$(docker version -f '{{.Server.APIVersion}}' | cut -d. -f2)" -ge 42 ] && all=--all
      docker run -d --name holder -v in-use:/d busybox sleep 120 >/dev/null && docker volume create spare >/dev/null && docker volume prune -f $all >/dev/null && docker volume ls -q`);
    await sh("docker rm -f holder >/dev/null");
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.split("\n")).not.toContain("spare");
    expect(r.stdout.split("\n")).toContain("in-use"); // in use by holder
  });
});
