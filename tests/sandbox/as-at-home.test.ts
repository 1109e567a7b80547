/**
 * What students copy from Docker's storage documentation and tutorials works as at home (with
 * the workstation's CLI 26 and Compose v2), and the sandbox's internal names stay out of sight.
 * Runs against whatever engine DOCKER_HOST names (20.10 or 26): where the two differ, the test
 * asks the engine's API version and expects what a student at home would see with that engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let sessionId: string;
let apiMinor: number;
const sh = (script: string) => studentShell(server, sessionId, script, 90_000);

beforeAll(async () => {
  server = await startTestServer();
  const client = new ApiClient(server.url);
  sessionId = (await client.call("POST", "/api/sessions")).body.id;
  const version = await sh("docker version --format '{{.Server.APIVersion}}'");
  apiMinor = Number(version.stdout.trim().split(".")[1]);
  expect(apiMinor, version.output).toBeGreaterThanOrEqual(41);
}, 120_000);
afterAll(async () => {
  await server?.close();
});

describe("Docker's documentation examples in the sandbox", () => {
  it("runs `docker compose up -d` twice in the same project, and `docker-compose` answers too", async () => {
    const r = await sh(`
      set -e
      mkdir -p ~/shop && cd ~/shop
      printf 'services:\\n  app:\\n    image: busybox\\n    command: sleep 300\\n    volumes:\\n      - data:/data\\nvolumes:\\n  data:\\n' > compose.yaml
      docker compose up -d 2>&1
      docker compose up -d 2>&1
      docker compose run --rm app echo run-ok 2>&1
      docker-compose ps --format '{{.Name}}'
      docker compose down 2>&1
    `);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).not.toMatch(/needs to be recreated|has changed/);
    expect(r.stdout).toContain("run-ok");
    expect(r.stdout).toMatch(/^shop-app-1$/m); // Compose v2's names, as at home
  });

  it("hides the sandbox's bridge name and cgroup from network and container inspect", async () => {
    const r = await sh(`
      docker network create hidden-net >/dev/null
      docker network inspect hidden-net
      docker network ls --format '{{.Name}} {{json .Options}}' 2>/dev/null
      docker run -d --name hidden-c --network hidden-net busybox sleep 60 >/dev/null
      docker inspect --format 'cgroup=[{{.HostConfig.CgroupParent}}]' hidden-c
      docker rm -f hidden-c >/dev/null; docker network rm hidden-net >/dev/null
    `);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.stdout).toContain('"Name": "hidden-net"');
    expect(r.stdout).not.toContain("com.docker.network.bridge.name");
    expect(r.stdout).not.toMatch(/stw[0-9a-f]{6,}/);
    expect(r.stdout).toContain("cgroup=[]");
    expect(r.stdout).not.toContain("/stowage/");
  });

  it("accepts -v ~/x:/x:z and :Z (no SELinux here: no-ops)", async () => {
    const r = await sh(`
      mkdir -p ~/x && echo from-home > ~/x/f
      docker run --rm -v ~/x:/x:z busybox cat /x/f
      docker run --rm -v ~/x:/x:Z,ro busybox cat /x/f
      docker run --rm -v zvol:/v:z busybox true && echo volume-z-ok
    `);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.stdout).toBe("from-home\nfrom-home\nvolume-z-ok\n");
  });

  it("accepts --tmpfs with noatime and nr_inodes, and bounds nr_inodes", async () => {
    const ok = await sh(
      `docker run --rm --tmpfs /t:noatime,nr_inodes=1k,size=1m busybox sh -c 'grep " /t " /proc/mounts'`,
    );
    expect(ok.exitCode, ok.output).toBe(0);
    expect(ok.stdout).toMatch(/\/t tmpfs \S*noatime\S*nr_inodes=1024/);
    const big = await sh("docker run --rm --tmpfs /t:nr_inodes=999999999 busybox true");
    expect(big.exitCode).not.toBe(0);
    expect(big.output).toMatch(/does not allow nr_inodes=999999999 on \/t: between 1 and 1048576/);
  });

  it("builds with a plain docker build (the classic builder, DOCKER_BUILDKIT=0 in the workstation) and runs the image", async () => {
    const r = await sh(
      "mkdir -p ctx && printf 'FROM busybox\\nRUN echo built > /built\\n' > ctx/Dockerfile && docker build -q -t at-home ctx && docker run --rm at-home cat /built && docker rmi at-home",
    );
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/^built$/m);
    expect(r.output).toMatch(/Untagged: at-home:latest/);
  });

  it("ends docker run --rm whose start is refused (a taken port) with the message, leaving nothing", async () => {
    const r = await sh(`
      docker run -d --name holder -p 8085:80 busybox sleep 60 >/dev/null
      timeout 20 docker run --rm -p 8085:80 busybox true; echo "rc=$?"
      docker ps -aq | wc -l
      docker rm -f holder >/dev/null`);
    expect(r.output).toMatch(/port is already allocated/);
    expect(r.stdout).toMatch(/^rc=125$/m); // not 124: CLI 26 waited for a removal that never came
    expect(r.stdout).toMatch(/^1$/m); // only the holder
  });

  it("says No such object for docker inspect of a name that is nothing", async () => {
    const r = await sh("docker inspect no-such-thing");
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/No such object: no-such-thing/);
    expect(r.output).not.toMatch(/plugins/);
  });

  it("answers --mount type=image with the engine's own message on an engine without image mounts", async () => {
    // CLI 26 cannot spell type=image; the API request is what a newer CLI sends.
    const r = await sh(
      `curl -s --unix-socket /var/run/docker.sock -H 'content-type: application/json' -d '{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"image","Source":"busybox","Target":"/img"}]}}' http://docker/v1.$(docker version -f '{{.Server.APIVersion}}' | cut -d. -f2)/containers/create`,
    );
    expect(r.stdout).toBe(
      '{"message":"invalid mount config for type \\"image\\": mount type unknown"}',
    );
  });

  it("takes the bind examples with private propagation and recursive read-only, refusing slave and shared", async () => {
    const r = await sh(`
      mkdir -p ~/target && echo t > ~/target/f
      docker run --rm -v "$(pwd)"/target:/app:ro,rprivate busybox cat /app/f
      docker run --rm --mount type=bind,source="$(pwd)"/target,target=/app,readonly,bind-propagation=rprivate busybox cat /app/f
      docker run --rm --mount type=bind,src="$(pwd)"/target,dst=/usb,ro,bind-recursive=readonly,bind-propagation=rprivate busybox cat /usb/f
    `);
    if (apiMinor >= 44) {
      expect(r.exitCode, r.output).toBe(0);
      expect(r.stdout).toBe("t\nt\nt\n");
    } else {
      expect(r.stdout).toBe("t\nt\n");
      // The CLI refuses it itself against an older engine, as it would at home.
      expect(r.output).toMatch(/bind-recursive=readonly requires API v1\.44 or later/);
    }
    const slave = await sh(
      'docker run --rm --mount type=bind,source="$(pwd)"/target,target=/app,bind-propagation=rslave busybox true',
    );
    expect(slave.exitCode).not.toBe(0);
    expect(slave.output).toMatch(
      /bind-propagation=rslave: only private and rprivate \(the default\) are allowed/,
    );
  });

  it("makes the tmpfs-backed local volume of Docker's docs, bounded like --tmpfs", async () => {
    const r = await sh(`
      docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=16m,uid=1000 foo >/dev/null
      docker run --rm -v foo:/t busybox sh -c 'df -k /t | tail -1; stat -c %u /t'
      docker volume rm foo >/dev/null
    `);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.stdout).toMatch(/^tmpfs\s+16384\s/);
    expect(r.stdout).toMatch(/^1000$/m);
  });

  it("mounts one folder of a volume with volume-subpath where the engine has it (API 1.45), and refuses it where the engine would ignore it", async () => {
    const r = await sh(`
      docker run --rm -v site:/v busybox sh -c 'mkdir -p /v/public && echo hello > /v/public/index.html && echo secret > /v/private'
      docker run --rm --mount type=volume,src=site,dst=/srv,volume-subpath=public busybox ls /srv
    `);
    if (apiMinor >= 45) {
      expect(r.exitCode, r.output).toBe(0);
      expect(r.stdout).toBe("index.html\n");
    } else {
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/Subpath needs API v1\.45 or newer/);
    }
    // Forced to an older API, the CLI still sends the field: refused, never the whole volume.
    const old = await sh(
      "DOCKER_API_VERSION=1.41 docker run --rm --mount type=volume,src=site,dst=/srv,volume-subpath=public busybox ls /srv",
    );
    expect(old.exitCode).not.toBe(0);
    expect(old.output).toMatch(/Subpath needs API v1\.45 or newer/);
    expect(old.stdout).not.toContain("private");
  });

  it("prunes volumes as the engine's API version says: named ones kept from 1.42 on unless --all", async () => {
    const r = await sh(`
      docker volume create keepme >/dev/null
      docker run -v /anon busybox true >/dev/null
      docker volume prune -f >/dev/null
      docker volume ls -q | grep -c . || true
      docker volume ls -q | grep -x keepme || true
    `);
    expect(r.exitCode, r.output).toBe(0);
    if (apiMinor >= 42) {
      expect(r.stdout).toMatch(/^keepme$/m);
      const all = await sh(
        "docker volume prune -af >/dev/null && docker volume ls -q | grep -x keepme || echo gone",
      );
      expect(all.stdout.trim()).toBe("gone");
    } else {
      expect(r.stdout).not.toMatch(/^keepme$/m); // 20.10 removes named volumes too
    }
  });

  it("negotiates the API version: at most 1.45, and names the range when asked for another", async () => {
    const r = await sh(`
      curl -sI --unix-socket /var/run/docker.sock http://docker/_ping | tr -d '\\r' | grep -i '^api-version'
      curl -s --unix-socket /var/run/docker.sock http://docker/v1.40/containers/json; echo
      curl -s --unix-socket /var/run/docker.sock http://docker/v1.46/containers/json; echo
      curl -s --unix-socket /var/run/docker.sock http://docker/v1.41/containers/json; echo
      curl -s --unix-socket /var/run/docker.sock http://docker/v1.45/containers/json; echo
    `);
    const [ping, tooOld, tooNew, fine, newest] = r.stdout.trim().split("\n");
    const pinged = Number(ping!.split(":")[1]!.trim().split(".")[1]);
    expect(pinged).toBeGreaterThanOrEqual(41);
    expect(pinged).toBeLessThanOrEqual(45);
    expect(tooOld).toMatch(
      /client version 1\.40 is too old: this sandbox speaks Docker API 1\.41 \(Docker 20\.10\) to 1\.45/,
    );
    expect(tooNew).toMatch(/client version 1\.46 is too new/);
    expect(fine).toBe("[]");
    // Above what the engine speaks: the engine's own words, not an internal error.
    if (apiMinor >= 45) expect(newest).toBe("[]");
    else
      expect(newest).toBe(
        `{"message":"client version 1.45 is too new. Maximum supported API version is 1.${apiMinor}"}`,
      );
  });
});
