/** What the engine says about itself and its objects: only the student's, never host paths. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack } from "./world.ts";

const w = new World();
let ownId = "";
beforeAll(async () => {
  await w.start();
  const r = await w.sh(
    "mkdir -p ~/site && docker volume create mine >/dev/null && docker run -d --name web -v mine:/data -v ~/site:/site --tmpfs /t busybox sh -c 'echo hello; sleep 3600'",
  );
  ownId = r.stdout.trim();
});
afterAll(() => w.stop());

const hostPaths = () => [
  w.server.dataDir,
  w.engineRootDir,
  w.server.sessions.get(w.attacker)!.sessionDir,
];
const expectNoHostPaths = (text: string) => {
  for (const p of hostPaths()) expect(text.includes(p), `shows ${p}`).toBe(false);
};

describe("information leaks", () => {
  attack(w, "/info shows the session's counts only and no host paths", async () => {
    const r = await w.http(w.attacker, "GET", "/v1.41/info");
    expect(r.json.Containers).toBe(1);
    expect(r.json.ContainersRunning).toBe(1);
    expect(r.json.DockerRootDir).toBe("/var/lib/docker");
    expect(r.json.Name).toBe("stowage");
    expect(r.json.Swarm.LocalNodeState).toBe("inactive");
    expect(r.json.RegistryConfig).toBeUndefined();
    expect(r.json.HttpProxy).toBeUndefined();
    expectNoHostPaths(r.text);
  });

  attack(w, "/system/df lists the session's containers and volumes only", async () => {
    const r = await w.http(w.attacker, "GET", "/v1.41/system/df");
    expect(r.json.Containers.map((c: { Names: string[] }) => c.Names[0])).toEqual(["/web"]);
    expect(r.json.Volumes.map((v: { Name: string }) => v.Name)).toEqual(["mine"]);
    // Each image's count of containers is the session's own, not how many students use it.
    const images = r.json.Images as { RepoTags: string[] | null; Containers: number }[];
    expect(images.reduce((sum, i) => sum + i.Containers, 0)).toBe(1);
    const workstation = images.find((i) => i.RepoTags?.includes("stowage/workstation:latest"));
    expect(workstation?.Containers ?? 0).toBe(0);
    expectNoHostPaths(r.text);
    const cli = await w.sh("docker system df -v");
    expect(cli.output).not.toContain(w.names.secretVol);
  });

  attack(
    w,
    "inspect of the attacker's own container shows student paths, not host paths",
    async () => {
      const r = await w.http(w.attacker, "GET", `/v1.41/containers/${ownId}/json`);
      expect(r.status).toBe(200);
      expectNoHostPaths(r.text);
      const mounts = r.json.Mounts as { Type: string; Source: string }[];
      expect(mounts.find((m) => m.Type === "bind")!.Source).toBe("/home/student/site");
      expect(r.json.LogPath).toMatch(/^\/var\/lib\/docker\/containers\//);
    },
  );

  attack(w, "volume inspect shows the usual /var/lib/docker mountpoint", async () => {
    const r = await w.http(w.attacker, "GET", "/v1.41/volumes/mine");
    expect(r.json.Mountpoint).toBe("/var/lib/docker/volumes/mine/_data");
    expect(r.json.Labels).toEqual({});
  });

  attack(w, "ps -a, volume ls, network ls, stats, images show nothing of the victim", async () => {
    const r = await w.sh(
      "docker ps -a --no-trunc; docker volume ls; docker network ls --no-trunc; docker stats --no-stream --no-trunc web; docker images; docker container ls -s",
    );
    expect(r.exitCode).toBe(0);
    expect(r.output).not.toContain(w.names.vault);
  });

  attack(w, "events since the start show the attacker's objects only", async () => {
    const r = await w.http(
      w.attacker,
      "GET",
      `/v1.41/events?since=0&until=${Math.floor(Date.now() / 1000)}`,
    );
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/"web"/);
    expectNoHostPaths(r.text);
  });

  attack(w, "logs of the attacker's own container", async () => {
    const r = await w.http(w.attacker, "GET", "/v1.41/containers/web/logs?stdout=1");
    expect(r.text).toContain("hello");
  });

  attack(w, "error messages: a name clash, a bad volume, a missing image", async () => {
    const r = await w.sh(
      `docker run -d --name web busybox true; docker volume rm mine; docker run --rm nosuchimage:1 true; docker network rm bridge; docker run -v mine:/data:rshared busybox true`,
    );
    expect(r.output).toMatch(/Conflict/);
    expect(r.output).toMatch(/volume is in use/);
    expect(r.output).not.toMatch(/stw-/);
    expectNoHostPaths(r.output);
  });

  attack(w, "a bind source that cannot be made does not tell the host path", async () => {
    const r = await w.sh("touch ~/afile && docker run --rm -v ~/afile/sub:/x busybox true");
    expect(r.exitCode).not.toBe(0);
    expectNoHostPaths(r.output);
  });

  attack(w, "docker top with hostile ps arguments", async () => {
    for (const args of [
      "-ef",
      "aux",
      "-eo pid,args --cols 10000",
      "e",
      "-A -o pid,cmd,environ",
      "--help all",
      "-p 1 -o pid,cmd",
    ]) {
      const r = await w.http(
        w.attacker,
        "GET",
        `/v1.41/containers/web/top?ps_args=${encodeURIComponent(args)}`,
      );
      expect(r.text, args).not.toContain("dockerd");
      expect(r.text, args).not.toContain("containerd");
      expect(r.text, args).not.toContain("vitest");
    }
  });

  attack(w, "/version does not show the host's paths", async () => {
    const r = await w.http(w.attacker, "GET", "/v1.41/version");
    expect(r.status).toBe(200);
    expectNoHostPaths(r.text);
  });

  attack(w, "network inspect hides the workstation", async () => {
    const r = await w.http(w.attacker, "GET", "/v1.41/networks/bridge");
    const ids = Object.keys(r.json.Containers ?? {});
    expect(ids).not.toContain(w.server.sessions.get(w.attacker)!.workstationId);
  });

  attack(w, "exec inspect of an own exec does not show host details", async () => {
    const e = await w.http(w.attacker, "POST", "/v1.41/containers/web/exec", {
      body: { Cmd: ["true"] },
    });
    const r = await w.http(w.attacker, "GET", `/v1.41/exec/${e.json.Id}/json`);
    expect(r.status).toBe(200);
    expectNoHostPaths(r.text);
  });
});
