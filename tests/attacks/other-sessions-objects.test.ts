/** Another session's objects: by name, engine name, ID, ID prefix; containers, volumes, networks, execs. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const refs = () => [
  w.names.vault,
  `stw-${w.victim}-${w.names.vault}`,
  `/stw-${w.victim}-${w.names.vault}`,
  w.victimContainerId,
  w.victimContainerId.slice(0, 12),
  w.victimContainerId.slice(0, 1),
];

describe("another session's objects", () => {
  for (const [method, action] of [
    ["GET", "json"],
    ["GET", "logs?stdout=1&stderr=1"],
    ["GET", "top"],
    ["GET", "changes"],
    ["GET", "export"],
    ["GET", "stats?stream=0"],
    ["POST", "stop"],
    ["POST", "kill"],
    ["POST", "pause"],
    ["POST", "restart"],
    ["POST", "rename?name=mine"],
    ["POST", "wait"],
    ["POST", "resize?h=1&w=1"],
    ["GET", "archive?path=/data/secret"],
    ["HEAD", "archive?path=/data"],
    ["DELETE", "?force=1&v=1"],
  ] as const) {
    attack(
      w,
      `${method} /containers/{victim}/${action.split("?")[0] || "(delete)"} by name, engine name, ID, ID prefix`,
      async () => {
        for (const ref of refs()) {
          const path = action.startsWith("?")
            ? `/v1.41/containers/${encodeURIComponent(ref)}${action}`
            : `/v1.41/containers/${encodeURIComponent(ref)}/${action}`;
          const r = await w.http(w.attacker, method, path);
          expect(r.status, `${method} ${path}: ${r.text}`).toBe(404);
          expect(r.text).not.toContain(w.secret);
        }
      },
    );
  }

  attack(w, "exec create in the victim's container", async () => {
    for (const ref of refs()) {
      const r = await w.http(
        w.attacker,
        "POST",
        `/v1.41/containers/${encodeURIComponent(ref)}/exec`,
        { body: { Cmd: ["cat", "/data/secret"], AttachStdout: true } },
      );
      expect(r.status).toBe(404);
    }
  });

  attack(
    w,
    "docker CLI: inspect, logs, exec, cp, rm, stop, rename on the victim's container",
    async () => {
      for (const ref of refs().slice(0, 5)) {
        const r = await w.sh(
          `docker inspect ${ref}; docker logs ${ref}; docker exec ${ref} cat /data/secret; docker stop -t 0 ${ref}; docker rm -f ${ref}; docker rename ${ref} stolen; docker pause ${ref}; docker port ${ref}`,
        );
        expect(r.output).toMatch(/No such (container|object)/);
        expect(r.output).not.toContain(w.secret);
      }
    },
  );

  attack(
    w,
    "a container ID prefix shared with the victim's (ambiguity does not reveal it)",
    async () => {
      const c = await w.http(w.attacker, "POST", "/v1.41/containers/create?name=mine", {
        body: { Image: "busybox", Cmd: ["true"] },
      });
      const own = c.json.Id as string;
      // The shortest prefix of the victim's ID that is not a prefix of the attacker's: must be 404, not "multiple".
      let n = 1;
      while (own.startsWith(w.victimContainerId.slice(0, n))) n++;
      const r = await w.http(
        w.attacker,
        "GET",
        `/v1.41/containers/${w.victimContainerId.slice(0, n)}/json`,
      );
      expect(r.status).toBe(404);
      await w.server.engine.docker.getContainer(own).remove({ force: true });
    },
  );

  attack(
    w,
    "renaming an own container to the victim's name does not touch the victim",
    async () => {
      const r = await w.sh(
        `docker create --name tmp busybox true >/dev/null && docker rename tmp ${w.names.vault} && docker rm ${w.names.vault}`,
      );
      expect(r.exitCode, r.output).toBe(0);
      const bad = await w.sh(
        `docker create --name tmp2 busybox true >/dev/null; docker rename tmp2 ../stw-${w.victim}-x; docker rename tmp2 "/stw-${w.victim}-${w.names.vault}"; docker rm tmp2`,
      );
      expect(bad.output).toMatch(/invalid container name/);
    },
  );

  attack(w, "the victim's network: inspect, remove, connect, disconnect", async () => {
    for (const ref of [
      w.names.net,
      `stw-${w.victim}-${w.names.net}`,
      w.victimNetworkId,
      w.victimNetworkId.slice(0, 5),
      `stw-${w.victim}-bridge`,
    ]) {
      expect((await w.http(w.attacker, "GET", `/v1.41/networks/${ref}`)).status, ref).toBe(404);
      expect((await w.http(w.attacker, "DELETE", `/v1.41/networks/${ref}`)).status, ref).toBe(404);
      expect(
        (
          await w.http(w.attacker, "POST", `/v1.41/networks/${ref}/disconnect`, {
            body: { Container: w.victimContainerId, Force: true },
          })
        ).status,
      ).toBe(404);
    }
  });

  attack(
    w,
    "the victim's workstation and the attacker's own workstation are not objects of the student",
    async () => {
      for (const ref of [
        `stw-${w.victim}--workstation`,
        `stw-${w.attacker}--workstation`,
        "-workstation",
        w.server.sessions.get(w.attacker)!.workstationId!,
      ]) {
        const r = await w.http(
          w.attacker,
          "GET",
          `/v1.41/containers/${encodeURIComponent(ref)}/json`,
        );
        expect(r.status, ref).toBe(404);
      }
    },
  );

  attack(
    w,
    "the victim's volume mounted read-write by engine name in --mount",
    async () => {
      const r = await w.sh(
        `docker run --rm --mount type=volume,src=stw-${w.victim}-${w.names.secretVol},dst=/x busybox sh -c 'cat /x/secret; echo pwned > /x/secret'`,
      );
      expect(r.output).not.toContain(w.secret);
      await w.sh(
        "docker volume prune -f >/dev/null; docker volume rm $(docker volume ls -q) >/dev/null 2>&1; true",
      );
    },
    { mayCreate: true },
  );
});
