/**
 * `--mount type=volume,...,volume-subpath=DIR` (API 1.45, Engine 26): a folder of the session's
 * own volume, never a way out of it. Links planted in the volume point at the host, at the
 * victim's volume, or climb with ..; the subpath itself tries .. and absolute paths. On an engine
 * without subpath mounts (20.10) every one is refused by the proxy, which must not let the field
 * drop silently (the engine would mount the whole volume).
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack } from "./world.ts";

const w = new World();
let apiMinor = 0;
beforeAll(async () => {
  await w.start();
  const r = await w.sh("docker version -f '{{.Server.APIVersion}}'");
  apiMinor = Number(r.stdout.trim().split(".")[1]);
  expect(apiMinor, r.output).toBeGreaterThanOrEqual(41);
}, 120_000);
afterAll(() => w.stop());

/** The POST the CLI sends for a subpath mount, at the API version the engine speaks. */
const subpathCreate = (subpath: string, volume = "own") =>
  w.http(w.attacker, "POST", `/v1.${Math.min(apiMinor, 45)}/containers/create`, {
    body: {
      Image: "busybox",
      Cmd: ["true"],
      HostConfig: {
        Mounts: [
          { Type: "volume", Source: volume, Target: "/x", VolumeOptions: { Subpath: subpath } },
        ],
      },
    },
  });

/** Plants links in the attacker's volume `evil`, then mounts each by subpath and tries to use it. */
const throughLink = (linkTarget: () => string, use: string) => async () => {
  const r = await w.sh(
    `
    docker run --rm -v evil:/v busybox sh -c 'rm -f /v/l && ln -s ${linkTarget()} /v/l && mkdir -p /v/d && ln -sfn ../l /v/d/up'
    for sub in l l/ d/up d/up/. ; do
      docker run --rm --mount type=volume,src=evil,dst=/x,volume-subpath=$sub busybox sh -c '${use}' 2>&1 | tail -2
    done
    docker volume rm -f evil >/dev/null`,
    60_000,
  );
  expect(r.output).not.toMatch(/ESCAPED|panic/);
  expect(r.output).not.toContain(w.secret);
  if (apiMinor < 45) expect(r.output).toMatch(/Subpath needs API v1\.45 or newer/);
  // Engine 26 opens the subpath inside the volume and refuses one that leads outside it.
  else expect(r.output).toMatch(/path concatenation escapes the base directory/);
};

describe("volume subpath mounts", () => {
  attack(w, "a subpath climbing out with ..", async () => {
    for (const sub of ["..", "../..", "a/../../..", `../../../..${w.canary}`]) {
      const r = await subpathCreate(sub);
      expect(r.status, `${sub}: ${r.text}`).toBe(400);
      expect(r.text).toMatch(
        apiMinor < 45 ? /Subpath needs API v1\.45/ : /must be a folder inside the volume/,
      );
    }
  });

  attack(w, "an absolute subpath (the host's or the engine's paths)", async () => {
    for (const sub of ["/", w.canary, w.victimVolumeMountpoint, "/var/lib/docker"]) {
      const r = await subpathCreate(sub);
      expect(r.status, `${sub}: ${r.text}`).toBe(400);
    }
  });

  attack(w, "a subpath given as a non-string or with a NUL byte", async () => {
    for (const sub of [["a"], { a: 1 }, 7, "a\u0000/../.."]) {
      const r = await w.http(w.attacker, "POST", "/v1.45/containers/create", {
        body: {
          Image: "busybox",
          HostConfig: {
            Mounts: [
              { Type: "volume", Source: "own", Target: "/x", VolumeOptions: { Subpath: sub } },
            ],
          },
        },
      });
      expect(r.status, r.text).toBe(400);
    }
  });

  attack(
    w,
    "a link in the volume pointing at a host folder",
    throughLink(() => w.canary, "touch /x/pwned && echo ESCAPED"),
    { mayCreate: true, timeoutMs: 90_000 },
  );

  attack(
    w,
    "a link in the volume pointing at the victim's volume on the host",
    throughLink(() => w.victimVolumeMountpoint, "cat /x/secret"),
    { mayCreate: true, timeoutMs: 90_000 },
  );

  attack(
    w,
    "a link in the volume pointing at / (the host's root)",
    throughLink(() => "/", `ls /x${w.canary} && touch /x${w.canary}/pwned && echo ESCAPED`),
    { mayCreate: true, timeoutMs: 90_000 },
  );

  attack(
    w,
    "a relative link climbing out of the volume",
    throughLink(() => "../../../../../../..", `touch /x${w.canary}/pwned && echo ESCAPED`),
    { mayCreate: true, timeoutMs: 90_000 },
  );

  attack(
    w,
    "the victim's volume by its name or engine name",
    async () => {
      for (const name of [w.names.secretVol, `stw-${w.victim}-${w.names.secretVol}`]) {
        const r = await w.sh(
          `docker run --rm --mount type=volume,src=${name},dst=/x,volume-subpath=. busybox cat /x/secret 2>&1; docker volume rm -f ${name} >/dev/null 2>&1; true`,
        );
        expect(r.output).not.toContain(w.secret);
      }
    },
    { mayCreate: true },
  );

  attack(
    w,
    "a folder swapped for a link while subpath mounts start",
    async () => {
      const r = await w.sh(
        `
      docker run --rm -v race:/v busybox mkdir -p /v/d
      docker run -d --name swapper -v race:/v busybox sh -c 'while true; do rm -rf /v/d; mkdir /v/d; rm -rf /v/d; ln -s ${w.canary} /v/d; done' >/dev/null
      for i in 1 2 3 4 5 6 7 8; do docker run --rm --mount type=volume,src=race,dst=/x,volume-subpath=d busybox touch /x/pwned 2>&1 | tail -1; done
      docker rm -f swapper >/dev/null; docker volume rm -f race >/dev/null`,
        90_000,
      );
      expect(r.output).not.toMatch(/panic/); // and attack() finds nothing written in the canary
    },
    { mayCreate: true, timeoutMs: 120_000 },
  );
});
