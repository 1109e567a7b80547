/**
 * What the sandbox refuses, with the message the student reads in the terminal, and proof that
 * nothing happened on the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { LABEL_OWNER, NAME_PREFIX } from "../../sandbox/naming/scope.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let sessionId: string;
const sh = (script: string) => studentShell(server, sessionId, script, 30_000);
const sessionVolumes = async () =>
  ((await server.engine.docker.listVolumes()).Volumes ?? [])
    .map((v) => v.Name)
    .filter((name) => name.startsWith(`${NAME_PREFIX}${sessionId}-`))
    .sort();
const ownedCount = async () =>
  (
    await server.engine.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_OWNER}=${sessionId}`] },
    })
  ).length;

beforeAll(async () => {
  server = await startTestServer();
  sessionId = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
});
afterAll(async () => {
  await server?.close();
});

const refusals: [string, string, RegExp][] = [
  [
    "--privileged",
    "docker run --rm --privileged busybox true",
    /this sandbox does not allow --privileged/,
  ],
  [
    "--cap-add",
    "docker run --rm --cap-add SYS_ADMIN busybox true",
    /this sandbox does not allow --cap-add/,
  ],
  [
    "--device",
    "docker run --rm --device /dev/sda busybox true",
    /this sandbox does not allow --device/,
  ],
  [
    "--pid host",
    "docker run --rm --pid host busybox true",
    /this sandbox does not allow --pid host/,
  ],
  [
    "--network host",
    "docker run --rm --network host busybox true",
    /this sandbox does not allow --network host/,
  ],
  [
    "--security-opt",
    "docker run --rm --security-opt seccomp=unconfined busybox true",
    /this sandbox does not allow --security-opt/,
  ],
  [
    "--userns host",
    "docker run --rm --userns host busybox true",
    /this sandbox does not allow --userns/,
  ],
  [
    "a host path bind",
    "docker run --rm -v /etc:/host-etc busybox true",
    /this sandbox does not allow the bind mount of \/etc: bind mounts may only use folders in your home, \/home\/student/,
  ],
  [
    "a relative escape",
    "docker run --rm -v /home/student/../../etc:/x busybox true",
    /does not allow the bind mount/,
  ],
  [
    "a symlink out of home",
    "ln -sfn / ~/root-link && docker run --rm -v ~/root-link:/x busybox true",
    /does not allow the bind mount/,
  ],
  [
    "--mount bind to the host",
    "docker run --rm --mount type=bind,source=/var/run,target=/x busybox true",
    /does not allow the bind mount of \/var\/run/,
  ],
  [
    "volume driver options",
    "docker volume create --opt type=none --opt o=bind --opt device=/ evil",
    /does not allow volume driver options/,
  ],
  [
    "a volume driver",
    "docker volume create --driver nfs evil",
    /does not allow the volume driver "nfs"/,
  ],
  [
    "inline volume driver options",
    "docker run --rm --mount type=volume,source=x,target=/x,volume-opt=device=/ busybox true",
    /does not allow volume driver options/,
  ],
  ["a huge tmpfs", "docker run --rm --tmpfs /t:size=10g busybox true", /does not allow a tmpfs/],
  [
    "too much memory",
    "docker run --rm --memory 8g busybox true",
    /does not allow --memory 8192 MiB: at most 256 MiB/,
  ],
  [
    "docker build --network host",
    "mkdir -p ctx && echo 'FROM busybox' > ctx/Dockerfile && DOCKER_BUILDKIT=0 docker build --network host ctx",
    /does not allow docker build --network host: builds here have no network/,
  ],
  [
    "docker build FROM an image not here",
    "mkdir -p ctx && echo 'FROM alpine:3.19' > ctx/Dockerfile && docker build ctx",
    /FROM alpine:3.19 \(Dockerfile line 1\): this sandbox builds only from the course's images/,
  ],
  [
    "ADD of a URL",
    "mkdir -p ctx && printf 'FROM busybox\\nADD http://example.com/x /x\\n' > ctx/Dockerfile && docker build ctx",
    /does not allow ADD of a URL/,
  ],
  [
    "removing a shared image",
    "docker rmi busybox",
    /does not allow removing busybox:latest: the course's images are shared by every student/,
  ],
  ["swarm", "docker swarm init", /does not allow Swarm/],
  [
    "exec --privileged",
    "docker run -d --name target busybox sleep 60 >/dev/null; docker exec --privileged target true",
    /does not allow docker exec --privileged/,
  ],
];

describe("refusals the student reads in the terminal", () => {
  for (const [what, command, message] of refusals) {
    it(`refuses ${what}`, async () => {
      const before = await ownedCount();
      const volumesBefore = await sessionVolumes();
      const r = await sh(command);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/Error response from daemon: /);
      expect(r.output).toMatch(message);
      expect(await ownedCount()).toBeLessThanOrEqual(
        before + (what === "exec --privileged" ? 1 : 0),
      );
      expect(await sessionVolumes()).toEqual(volumesBefore); // a refused create or run made no volume
    });
  }
});
