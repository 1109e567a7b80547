/**
 * Images are shared by every student: no pull, import, load, push, commit, and the course's
 * images are never changed. A student's build and tags make images of their own (builds.test.ts).
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack } from "./world.ts";

const w = new World();
let imagesBefore = "";
const imageList = async () =>
  (await w.server.engine.docker.listImages())
    .map((i) => `${i.Id} ${(i.RepoTags ?? []).join(",")}`)
    .sort()
    .join("\n");
beforeAll(async () => {
  await w.start();
  imagesBefore = await imageList();
});
afterAll(() => w.stop());

const refused = (name: string, method: string, path: string, message: RegExp, body?: unknown) =>
  attack(w, name, async () => {
    const r = await w.http(w.attacker, method, path, body === undefined ? {} : { body });
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(r.json?.message ?? r.text).toMatch(message);
    expect(await imageList()).toBe(imagesBefore);
  });

describe("images and build", () => {
  refused(
    "build from a remote URL",
    "POST",
    "/v1.41/build?remote=http://127.0.0.1:1/x.git",
    /does not allow building from a URL/,
  );
  refused(
    "build with networkmode=host",
    "POST",
    "/v1.41/build?networkmode=host&t=busybox",
    /does not allow docker build --network host/,
  );
  refused(
    "BuildKit /session tunnel",
    "POST",
    "/session",
    /does not allow building images \(BuildKit\)/,
  );
  refused("BuildKit /grpc tunnel", "POST", "/grpc", /does not allow building images \(BuildKit\)/);
  refused(
    "image import from a URL",
    "POST",
    "/v1.41/images/create?fromSrc=http://127.0.0.1:1/x.tar&repo=busybox",
    /does not allow pulling or importing/,
  );
  refused(
    "image pull",
    "POST",
    "/v1.41/images/create?fromImage=alpine&tag=latest",
    /does not allow pulling or importing/,
  );
  refused("docker load", "POST", "/v1.41/images/load", /does not allow loading images/);
  refused("docker save", "GET", "/v1.41/images/get?names=busybox", /does not allow saving images/);
  refused(
    "removing a shared image",
    "DELETE",
    "/v1.41/images/busybox?force=1",
    /does not allow removing busybox:latest/,
  );
  refused(
    "removing a shared image by ID",
    "DELETE",
    "/v1.41/images/sha256%3A0123456789abcdef?force=1",
    /No such image/,
  );
  refused(
    "image prune -a",
    "POST",
    `/v1.41/images/prune?filters=${encodeURIComponent('{"dangling":["false"]}')}`,
    /does not allow pruning images/,
  );
  refused(
    "build cache prune",
    "POST",
    "/v1.41/build/prune?all=1",
    /does not allow pruning the build cache/,
  );
  refused("push", "POST", "/v1.41/images/busybox/push", /does not allow pushing images/);
  refused(
    "commit",
    "POST",
    "/v1.41/commit?container=x&repo=busybox",
    /does not allow docker commit/,
  );
  refused("registry login", "POST", "/v1.41/auth", /does not allow logging in/, {
    username: "a",
    password: "b",
  });
  refused(
    "plugin install",
    "POST",
    "/v1.41/plugins/pull?remote=vieux/sshfs",
    /does not allow plugins/,
  );
  refused("swarm init", "POST", "/v1.41/swarm/init", /does not allow Swarm/, {});
  refused("secrets", "POST", "/v1.41/secrets/create", /does not allow Swarm/, {
    Name: "s",
    Data: "eA==",
  });
  refused("services", "GET", "/v1.41/services", /does not allow Swarm/);
  refused(
    "distribution lookups",
    "GET",
    "/v1.41/distribution/busybox/json",
    /does not allow registry lookups/,
  );

  attack(
    w,
    "retagging a shared image makes the student's own tag; the shared one is unchanged",
    async () => {
      const debian = (await w.server.engine.docker.getImage("debian:bookworm").inspect()).Id;
      const r = await w.http(
        w.attacker,
        "POST",
        "/v1.41/images/busybox/tag?repo=debian&tag=bookworm",
      );
      expect(r.status, r.text).toBe(201);
      expect((await w.server.engine.docker.getImage("debian:bookworm").inspect()).Id).toBe(debian);
      expect(
        (await w.server.engine.docker.getImage(`stw-${w.attacker}-debian:bookworm`).inspect()).Id,
      ).toBe((await w.server.engine.docker.getImage("busybox").inspect()).Id);
      expect((await w.http(w.attacker, "DELETE", "/v1.41/images/debian:bookworm")).status).toBe(
        200,
      );
      expect(await imageList()).toBe(imagesBefore);
    },
  );

  attack(
    w,
    "docker build -t busybox, docker buildx, docker import, docker load from the CLI",
    async () => {
      const r = await w.sh(
        "mkdir -p ctx && echo 'FROM busybox' > ctx/Dockerfile; DOCKER_BUILDKIT=1 docker build -t busybox ctx; echo x | docker import - busybox; echo x | docker load; DOCKER_BUILDKIT=0 docker build -q -t busybox ctx && docker rmi busybox && docker rmi -f busybox",
      );
      // BuildKit: the /session tunnel is refused, or buildx's docker-container driver cannot pull its image.
      expect(r.output).toMatch(
        /does not allow building images \(BuildKit\)|booting buildkit[\s\S]*does not allow pulling/,
      );
      expect(r.output).toMatch(/does not allow pulling or importing/);
      expect(r.output).toMatch(/does not allow loading images/);
      expect(r.output).toMatch(/Untagged: busybox:latest/); // the student's own busybox, built and removed
      expect(r.output).toMatch(/does not allow removing busybox:latest/);
      expect(await imageList()).toBe(imagesBefore);
    },
  );

  attack(w, "docker run of an image that is not here does not pull", async () => {
    const r = await w.sh(
      "docker run --rm alpine:3.19 true; docker run --rm --pull always busybox true",
    );
    expect(r.output).toMatch(/No such image|does not allow pulling/);
    expect(await imageList()).toBe(imagesBefore);
  });

  attack(w, "image names with path tricks", async () => {
    for (const ref of [
      `busybox%2F..%2F..%2Fcontainers%2F${w.victimContainerId}`,
      "..%2F..%2Finfo",
      "busybox%3F",
      "%2Fetc%2Fpasswd",
    ]) {
      const r = await w.http(w.attacker, "GET", `/v1.41/images/${ref}/json`);
      expect(r.status, ref).toBe(404);
      const c = await w.http(w.attacker, "POST", "/v1.41/containers/create", {
        body: { Image: decodeURIComponent(ref) },
      });
      expect(c.status, ref).toBe(404);
    }
  });
});
