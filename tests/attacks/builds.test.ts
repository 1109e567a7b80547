/**
 * `docker build` in the sandbox (classic builder, docs/decisions/builds.md): what a build may do
 * on the student's behalf, and the session's own images. Each attack below would work if the
 * proxy simply passed /build on; the positive test is the lesson's use of a build.
 */
import { createServer, type Server as HttpServer } from "node:http";
import { networkInterfaces } from "node:os";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, studentShell } from "../../tools/sandbox-server.ts";
import { World, attack } from "./world.ts";

const w = new World();
const docker = () => w.server.engine.docker;
/** The engine's course busybox, which no student may change. */
let busyboxId = "";
/** A listener on the engine's default bridge gateway: a build's RUN must not reach it. */
let listener: HttpServer;
let listenerHits = 0;
let gateway = "";

/** Writes a Dockerfile (and optional files) into a fresh folder in the attacker's home, then runs `docker build` there. */
function buildScript(dockerfile: string, args: string, extra = ""): string {
  const dir = `b${Math.random().toString(36).slice(2, 8)}`;
  return `mkdir -p ~/${dir} && cd ~/${dir} && cat > Dockerfile <<'EOF'\n${dockerfile}\nEOF\n${extra}\ndocker build ${args} . 2>&1; echo "exit=$?"`;
}

const victimShell = (script: string, timeout = 60_000) =>
  studentShell(w.server, w.victim, script, timeout);

beforeAll(async () => {
  await w.start();
  busyboxId = (await docker().getImage("busybox:latest").inspect()).Id;
  const r = await victimShell(
    buildScript("FROM busybox\nRUN echo victim-image > /owner", "-q -t vimg"),
  );
  if (!r.stdout.includes("exit=0")) throw new Error(`victim build failed: ${r.output}`);
  listener = createServer((_req, res) => res.end("reached\n"));
  listener.on("connection", () => void listenerHits++);
  await new Promise<void>((resolve) => listener.listen(0, "0.0.0.0", resolve));
  // The host's own address, where a container on a bridge network would find the listener.
  gateway = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)!.address;
}, 180_000);
afterAll(async () => {
  listener?.close();
  await w.stop();
});

const port = () => (listener.address() as { port: number }).port;

describe("docker build: what the Dockerfile may do", () => {
  attack(
    w,
    "a step another session built is never reused from the cache (no oracle on it)",
    async () => {
      // The victim built `RUN echo victim-image > /owner` on busybox in beforeAll: the same step here
      // must be built afresh, not answered "Using cache" (which tells the Dockerfile's line was built).
      const r = await w.sh(buildScript("FROM busybox\nRUN echo victim-image > /owner", "-t same"));
      expect(r.stdout).toContain("exit=0");
      expect(r.output).not.toMatch(/Using cache/);
      // The attacker's own second build of it is cached as usual.
      const again = await w.sh(
        buildScript("FROM busybox\nRUN echo victim-image > /owner", "-t same2"),
      );
      expect(again.output).toMatch(/Using cache/);
      await w.sh("docker rmi same same2 >/dev/null 2>&1");
    },
  );

  attack(w, "FROM another session's image is refused", async () => {
    const r = await w.sh(buildScript(`FROM stw-${w.victim}-vimg`, "-t stolen"));
    expect(r.output).toMatch(/builds only from the course's images/);
    expect(r.output).toMatch(/exit=1/);
    expect(
      await docker().listImages({ filters: { reference: [`stw-${w.attacker}-stolen`] } }),
    ).toEqual([]);
  });

  attack(
    w,
    "FROM an image that is not the course's (no pull, no other image on the engine)",
    async () => {
      for (const base of ["alpine:3.19", "stowage/workstation-not-here", "${BASE}"]) {
        const r = await w.sh(buildScript(`ARG BASE=busybox\nFROM ${base}`, "-t nope"));
        expect(r.output, base).toMatch(
          /builds only from the course's images|does not allow a variable in FROM/,
        );
      }
    },
  );

  attack(w, "ADD of a URL (and a variable that could hide one)", async () => {
    const url = `http://${gateway}:${port()}/x`;
    const r = await w.sh(buildScript(`FROM busybox\nADD ${url} /x`, "-t addurl"));
    expect(r.output).toMatch(/does not allow ADD of a URL/);
    const v = await w.sh(buildScript(`FROM busybox\nARG U=${url}\nADD $U /x`, "-t addurl"));
    expect(v.output).toMatch(/does not allow a variable in an ADD source/);
    expect(listenerHits).toBe(0);
  });

  attack(w, "RUN --mount of every type, RUN --network, RUN --security", async () => {
    for (const flag of [
      "--mount=type=bind,source=/,target=/host",
      "--mount=type=secret,id=x",
      "--mount=type=ssh",
      "--mount=type=cache,target=/c",
      "--network=host",
      "--security=insecure",
    ]) {
      const r = await w.sh(buildScript(`FROM busybox\nRUN ${flag} true`, "-t mnt"));
      expect(r.output, flag).toMatch(new RegExp(`does not allow RUN ${flag.split("=")[0]}`));
    }
  });

  attack(w, "ONBUILD triggers and COPY --from an image that is not allowed", async () => {
    const r = await w.sh(buildScript("FROM busybox\nONBUILD ADD http://example.com/ /", "-t ob"));
    expect(r.output).toMatch(/does not allow ONBUILD/);
    const c = await w.sh(
      buildScript(`FROM busybox\nCOPY --from=stw-${w.victim}-vimg /owner /owner`, "-t cf"),
    );
    expect(c.output).toMatch(/COPY --from .* builds only from the course's images/);
  });

  it("RUN has no network: the host's bridge gateway cannot be reached from a build", async () => {
    // busybox's nc exits 0 once connected; the markers are computed so the echoed command never matches them.
    const r = await w.sh(
      buildScript(
        `FROM busybox\nRUN (echo probe | nc -w 3 ${gateway} ${port()} && echo "EGRESS_$((40+2))") || echo "NO_EGRESS_$((3+4))"`,
        "--no-cache -t egress",
      ),
      90_000,
    );
    expect(r.output).toMatch(/exit=0/);
    expect(r.output).toMatch(/NO_EGRESS_7/);
    expect(r.output).not.toMatch(/EGRESS_42/);
    expect(listenerHits).toBe(0);
  }, 120_000);
  it("RUN runs under a student container's memory limit, in the session's cgroup (which bounds pids)", async () => {
    const cgroupParent = w.server.sessions.get(w.attacker)!.scope.cgroupParent;
    expect(cgroupParent, "this engine gives sessions a cgroup (cgroupfs)").toBeTruthy();
    const r = await w.sh(
      buildScript(
        "FROM busybox\nRUN echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max); grep -m1 pids /proc/self/cgroup || cat /proc/self/cgroup",
        "--no-cache -t limits",
      ),
      90_000,
    );
    expect(r.output).toMatch(/exit=0/);
    expect(r.output).toMatch(/mem=268435456/);
    expect(r.output).toContain(cgroupParent!);
  }, 120_000);
});

describe("docker build: what the request may ask", () => {
  attack(w, "--network host (and any network but none)", async () => {
    const r = await w.sh(buildScript("FROM busybox\nRUN true", "--network host -t nh"));
    expect(r.output).toMatch(
      /does not allow docker build --network host: builds here have no network/,
    );
    const b = await w.http(w.attacker, "POST", "/v1.41/build?networkmode=bridge&t=x", { raw: "" });
    expect(b.json?.message).toMatch(/--network bridge/);
  });

  attack(
    w,
    "--security-opt, --add-host, --ulimit, --cache-from, remote, outputs, --pull, --platform",
    async () => {
      const cases: [string, RegExp][] = [
        [`securityopt=${encodeURIComponent('["seccomp=unconfined"]')}`, /--security-opt/],
        [`extrahosts=${encodeURIComponent('["h:10.0.0.1"]')}`, /--add-host/],
        [
          `ulimits=${encodeURIComponent('[{"Name":"nproc","Soft":99999,"Hard":99999}]')}`,
          /--ulimit/,
        ],
        [`cachefrom=${encodeURIComponent('["busybox"]')}`, /--cache-from/],
        ["remote=http://127.0.0.1:1/x.git", /building from a URL/],
        ["outputs=type%3Dlocal", /--output/],
        ["pull=1", /--pull/],
        ["platform=linux/arm64", /--platform/],
        ["version=2", /BuildKit/],
        [`memory=${8 * 1024 ** 3}`, /--memory/],
      ];
      for (const [q, message] of cases) {
        const r = await w.http(w.attacker, "POST", `/v1.41/build?t=x&${q}`, { raw: "" });
        expect(r.status, q).toBeGreaterThanOrEqual(400);
        expect(r.json?.message, q).toMatch(message);
      }
    },
  );

  attack(w, "build args that name a proxy or a URL, or too many", async () => {
    const p = await w.sh(
      buildScript(
        "FROM busybox\nARG HTTP_PROXY\nRUN true",
        `--build-arg HTTP_PROXY=http://${gateway}:3128 -t ba`,
      ),
    );
    expect(p.output).toMatch(/does not allow the build argument HTTP_PROXY/);
    const u = await w.sh(
      buildScript(
        "FROM busybox\nARG X\nRUN true",
        `--build-arg X=http://${gateway}:${port()}/ -t ba`,
      ),
    );
    expect(u.output).toMatch(/does not allow the value of the build argument X/);
    const many = Array.from({ length: 20 }, (_, i) => `--build-arg A${i}=1`).join(" ");
    const m = await w.sh(buildScript("FROM busybox\nRUN true", `${many} -t ba`));
    expect(m.output).toMatch(/at most 16 buildargs/);
  });

  attack(
    w,
    "a huge build context is refused, nothing is built",
    async () => {
      const r = await w.sh(
        buildScript(
          "FROM busybox\nCOPY big /big",
          "-t huge",
          "head -c 40000000 /dev/urandom > big",
        ),
        90_000,
      );
      expect(r.output).toMatch(/build context is larger than|exit=1/);
      expect(r.output).not.toMatch(/exit=0/);
      expect(
        await docker().listImages({ filters: { reference: [`stw-${w.attacker}-huge`] } }),
      ).toEqual([]);
      await w.sh("rm -rf ~/b*");
    },
    { timeoutMs: 120_000 },
  );

  attack(w, "a gzipped context that unpacks past the bound (a gzip bomb) is refused", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // ~64 KiB sent, 64 MiB unpacked
    const r = await w.http(w.attacker, "POST", "/v1.41/build?t=bomb", {
      raw: bomb,
      headers: { "content-type": "application/x-tar" },
    });
    expect(r.status).toBe(413);
    expect(r.json?.message).toMatch(/larger than 32 MiB unpacked/);
  });
});

describe("the session's own images", () => {
  it("build -t busybox, docker tag busybox, docker rmi busybox: the course's busybox is never replaced", async () => {
    const r = await w.sh(
      buildScript("FROM busybox\nRUN echo mine > /mine", "-q -t busybox") +
        "; docker run --rm busybox cat /mine; docker tag busybox debian:bookworm; docker rmi busybox; docker rmi busybox; docker rmi debian:bookworm; docker rmi debian:bookworm 2>&1; echo done",
    );
    expect(r.output).toMatch(/exit=0/);
    expect(r.output).toMatch(/^mine$/m); // the student's own busybox, as a local tag shadows at home
    expect(r.output).toMatch(/does not allow removing busybox:latest/);
    expect(r.output).toMatch(/does not allow removing debian:bookworm/);
    expect((await docker().getImage("busybox:latest").inspect()).Id).toBe(busyboxId);
    // The victim's busybox is the course's.
    const v = await victimShell("docker run --rm busybox cat /mine 2>&1; echo rc=$?");
    expect(v.output).toMatch(/No such file/);
    expect(
      await docker().listImages({
        filters: { reference: [`stw-${w.attacker}-busybox`, `stw-${w.attacker}-debian`] },
      }),
    ).toEqual([]);
  }, 120_000);

  attack(w, "another session's image is invisible and unusable", async () => {
    const victimImage = await docker().getImage(`stw-${w.victim}-vimg:latest`).inspect();
    const r = await w.sh(
      `docker images --format '{{.Repository}}:{{.Tag}}'; docker image inspect vimg; docker run --rm vimg cat /owner; docker run --rm stw-${w.victim}-vimg cat /owner; docker rmi stw-${w.victim}-vimg; docker tag stw-${w.victim}-vimg mine; docker run --rm ${victimImage.Id.slice(7, 19)} cat /owner; docker system df -v; echo end`,
      60_000,
    );
    expect(r.output).not.toMatch(/victim-image/);
    expect(r.stdout.split("[]")[0]).not.toMatch(/vimg/); // docker images
    expect(r.stdout.split("Containers space usage")[0]!.split("Images space usage")[1]).not.toMatch(
      /vimg/,
    ); // docker system df -v
    expect(r.stdout).toMatch(/Images space usage/);
    expect(r.output).toMatch(/busybox:latest/);
    expect(r.output).toMatch(/end$/m);
    for (const path of [
      `/v1.41/images/stw-${w.victim}-vimg/json`,
      `/v1.41/images/${victimImage.Id}/json`,
      `/v1.41/images/${victimImage.Id.slice(7, 19)}/history`,
    ]) {
      const a = await w.http(w.attacker, "GET", path);
      expect(a.status, path).toBe(404);
    }
    const c = await w.http(w.attacker, "POST", "/v1.41/containers/create", {
      body: { Image: victimImage.Id },
    });
    expect(c.status).toBe(404);
    await docker().getImage(`stw-${w.victim}-vimg:latest`).inspect();
  });

  it("an own image is counted: at most 10 tags", async () => {
    const own = async () =>
      (await docker().listImages())
        .flatMap((i) => i.RepoTags ?? [])
        .filter((t) => t.startsWith(`stw-${w.attacker}-`)).length;
    const before = await own();
    const tags = Array.from({ length: 11 - before }, (_, i) => `docker tag busybox q${i}`).join(
      "; ",
    );
    const r = await w.sh(
      `${tags}; for i in $(seq 0 10); do docker rmi q$i >/dev/null 2>&1; done; true`,
    );
    expect(r.output).toMatch(/at most 10 images of your own/);
    expect(r.output.match(/at most 10 images/g)).toHaveLength(1);
    expect(await own()).toBe(before);
  }, 60_000);

  it("an own image is removed with the session", async () => {
    const client = new ApiClient(w.server.url);
    const id = (await client.call("POST", "/api/sessions")).body.id as string;
    const r = await studentShell(
      w.server,
      id,
      buildScript("FROM busybox\nRUN echo x > /x", "-q -t gone") + "; docker tag busybox gone2",
      60_000,
    );
    expect(r.output).toMatch(/exit=0/);
    expect(
      (await docker().listImages())
        .flatMap((i) => i.RepoTags ?? [])
        .filter((t) => t.startsWith(`stw-${id}-`))
        .sort(),
    ).toEqual([`stw-${id}-gone2:latest`, `stw-${id}-gone:latest`]);
    await w.server.sessions.destroy(id, "test done");
    expect(
      (await docker().listImages({ all: true })).filter(
        (i) =>
          (i.RepoTags ?? []).some((t) => t.startsWith(`stw-${id}-`)) ||
          i.Labels?.["stowage.session"] === id,
      ),
    ).toEqual([]);
  }, 120_000);

  it("the lesson's build: owners set before VOLUME populate a new volume, and docker run of the own image works", async () => {
    const dockerfile = [
      "FROM busybox",
      "RUN mkdir -p /data && echo seeded > /data/seed && chown -R 1234:2345 /data",
      "VOLUME /data",
      'CMD ["sh", "-c", "stat -c %u:%g /data /data/seed; cat /data/seed"]',
    ].join("\n");
    const r = await w.sh(
      buildScript(dockerfile, "-q -t owned-app") +
        "; docker run --rm -v owned-vol:/data owned-app; docker images owned-app --format '{{.Repository}}:{{.Tag}}'; docker volume rm owned-vol >/dev/null; docker rmi owned-app >/dev/null; echo rmi=$?",
      120_000,
    );
    expect(r.output).toMatch(/exit=0/);
    expect(r.output).toMatch(/^1234:2345\n1234:2345\nseeded$/m);
    expect(r.output).toMatch(/^owned-app:latest$/m);
    expect(r.output).toMatch(/rmi=0/);
  }, 150_000);

  it("Compose's build: goes through the same path", async () => {
    const compose = [
      "services:",
      "  app:",
      "    build: .",
      "    image: composed-app",
      '    command: ["cat", "/built"]',
    ].join("\n");
    const r = await w.sh(
      `mkdir -p ~/cmp && cd ~/cmp && printf 'FROM busybox\\nRUN echo composed > /built\\n' > Dockerfile && printf '${compose}\\n' > compose.yaml && docker compose up --build 2>&1; docker compose down 2>&1; docker rmi composed-app 2>&1; echo done`,
      120_000,
    );
    expect(r.output).toMatch(/composed$/m);
    expect(r.output).toMatch(/Untagged: composed-app:latest/);
  }, 150_000);
});
