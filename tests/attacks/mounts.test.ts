/** Binds and mounts of every type: only the student's own home, own volumes, bounded tmpfs. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, create } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const refusedRun = (name: string, flags: string, message: RegExp) =>
  attack(w, name, async () => {
    const r = await w.sh(
      `docker run --rm ${flags.replaceAll("CANARY", w.canary)} busybox sh -c 'touch /x/pwned' 2>&1`,
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(message);
  });

describe("bind mounts and mounts", () => {
  refusedRun("-v / of the host", "-v /:/x", /does not allow the bind mount of \//);
  refusedRun("-v of a host folder", "-v CANARY:/x", /does not allow the bind mount/);
  refusedRun(
    "-v with .. out of home",
    "-v /home/student/../../CANARY:/x",
    /does not allow the bind mount/,
  );
  refusedRun(
    "-v sibling prefix /home/student2",
    "-v /home/student2:/x",
    /does not allow the bind mount/,
  );
  refusedRun(
    "-v sibling prefix /home/studentCANARY",
    "-v /home/studentX/../../CANARY:/x",
    /does not allow the bind mount/,
  );
  refusedRun("-v /proc", "-v /proc:/x", /does not allow the bind mount/);
  refusedRun(
    "-v /var/run/docker.sock (the engine)",
    "-v /var/run/docker.sock:/x",
    /does not allow the bind mount/,
  );
  refusedRun(
    "-v /run/stowage (the proxy socket folder)",
    "-v /run/stowage:/x",
    /does not allow the bind mount/,
  );
  refusedRun(
    "-v with rshared propagation",
    "-v /home/student:/x:rshared",
    /propagation "rshared" in -v .*: only private and rprivate/,
  );
  attack(
    w,
    "private propagation named (-v :rprivate, bind-propagation=rprivate) is accepted as at home",
    async () => {
      const r = await create(w, {
        Image: "busybox",
        HostConfig: {
          Binds: ["/home/student:/x:ro,rprivate"],
          Mounts: [
            {
              Type: "bind",
              Source: "/home/student",
              Target: "/y",
              ReadOnly: true,
              BindOptions: { Propagation: "rprivate" },
            },
          ],
        },
      });
      expect(r.status, r.text).toBe(201);
      const info = await w.server.engine.docker.getContainer(r.json.Id).inspect();
      expect(info.Mounts.map((m) => m.Propagation)).toEqual(["rprivate", "rprivate"]);
      await w.server.engine.docker.getContainer(r.json.Id).remove({ force: true });
    },
  );
  attack(
    w,
    "-v with SELinux relabel :Z / :z (accepted as at home, never passed on to relabel)",
    async () => {
      const r = await create(w, {
        Image: "busybox",
        HostConfig: { Binds: ["/home/student:/x:Z", "/home/student:/y:z,ro"] },
      });
      expect(r.status, r.text).toBe(201);
      const info = await w.server.engine.docker.getContainer(r.json.Id).inspect();
      expect(info.HostConfig.Binds!.map((b) => b.split(":").slice(2).join(":"))).toEqual([
        "",
        "ro",
      ]);
      await w.server.engine.docker.getContainer(r.json.Id).remove({ force: true });
    },
  );
  refusedRun(
    "--mount bind with bind-propagation",
    "--mount type=bind,src=/home/student,dst=/x,bind-propagation=rslave",
    /bind-propagation=rslave: only private and rprivate/,
  );
  refusedRun(
    "--mount bind of a host path",
    "--mount type=bind,src=CANARY,dst=/x",
    /does not allow the bind mount/,
  );
  refusedRun("a huge tmpfs", "--tmpfs /x:size=10g", /does not allow a tmpfs/);
  refusedRun(
    "tmpfs options beyond the allowed (huge pages, inodes)",
    "--tmpfs /x:huge=always,nr_inodes=0",
    /tmpfs option/,
  );
  refusedRun(
    "--mount tmpfs larger than the limit",
    "--mount type=tmpfs,dst=/x,tmpfs-size=10000000000",
    /does not allow a tmpfs/,
  );

  attack(w, "a symlink in home pointing at a host folder", async () => {
    const r = await w.sh(
      `ln -sfn ${w.canary} ~/link && docker run --rm -v ~/link:/x busybox touch /x/pwned`,
    );
    expect(r.output).toMatch(/does not allow the bind mount/);
  });

  attack(w, "a chain of relative links climbing out of home", async () => {
    const r = await w.sh(
      `mkdir -p ~/a && ln -sfn ../.. ~/a/up && ln -sfn a/up/..${w.canary} ~/chain && docker run --rm -v ~/chain:/x busybox touch /x/pwned`,
    );
    expect(r.output).toMatch(/does not allow the bind mount/);
  });

  attack(w, "a folder swapped for a link between create and start", async () => {
    const r = await w.sh(
      `mkdir -p ~/swap && docker create --name swapper -v ~/swap:/x busybox touch /x/pwned >/dev/null && rmdir ~/swap && ln -s ${w.canary} ~/swap && docker start -a swapper; docker rm -f swapper >/dev/null`,
    );
    expect(r.output).toMatch(/now leads outside your home/);
  });

  attack(
    w,
    "a folder swapped for a link before a restart policy restarts the container",
    async () => {
      // The engine restarts a container by itself, without asking the proxy; it names the folder
      // through the session's bind view, where the swapped-in link does not resolve.
      const r = await w.sh(
        `mkdir -p ~/rs && docker run -d --name restarter --restart always -v ~/rs:/x busybox sh -c 'sleep 1; touch /x/pwned; exit 1' >/dev/null; sleep 0.5; rmdir ~/rs; ln -sfn ${w.canary} ~/rs; sleep 4; docker inspect -f '{{.State.Running}} {{.State.Error}}' restarter; docker rm -f restarter >/dev/null; rm ~/rs`,
        40_000,
      );
      expect(r.output).toMatch(
        /^false (error while creating mount source path .\/home\/student|.*too many levels of symbolic links)/im,
      ); // its restart failed: the link did not resolve
    },
    { timeoutMs: 60_000 },
  );

  attack(
    w,
    "docker update --restart always on a container with a bind mount, then a link swapped in",
    async () => {
      const r = await w.sh(
        `mkdir -p ~/up && docker run -d --name upd -v ~/up:/x busybox sh -c 'sleep 1; touch /x/pwned; exit 1' >/dev/null && docker update --restart always upd >/dev/null; sleep 0.3; rmdir ~/up; ln -sfn ${w.canary} ~/up; sleep 4; docker inspect -f '{{.State.Running}} {{.State.Error}}' upd; docker rm -f upd >/dev/null; rm ~/up`,
        40_000,
      );
      expect(r.output).toMatch(
        /^false (error while creating mount source path .\/home\/student|.*too many levels of symbolic links)/im,
      );
    },
    { timeoutMs: 60_000 },
  );

  attack(
    w,
    "a missing folder then .. then a link to / (the engine's mkdir -p would follow it on the host)",
    async () => {
      const r = await w.sh(
        `ln -sfn / ~/rootlink && docker run --rm -v /home/student/nope/../rootlink${w.canary}/made:/x busybox true; docker run --rm -v /home/student/nope/./../rootlink${w.canary}/made2:/x busybox true; rm ~/rootlink`,
      );
      expect(r.output).toMatch(/does not allow the bind mount/);
    },
  );

  attack(
    w,
    "a link folded lexically (link/..) where the kernel follows the link first",
    async () => {
      const r = await w.sh(
        `mkdir -p ~/d1/d2 && ln -sfn / ~/d1/d2/root && docker run --rm -v /home/student/d1/d2/root/..${w.canary}:/x busybox touch /x/pwned`,
      );
      expect(r.output).toMatch(/does not allow the bind mount/);
    },
  );

  attack(
    w,
    "folders swapped for links in a loop while docker run -v creates and starts",
    async () => {
      // A writer container with the home bound swaps ~/race between a folder and a link to the
      // canary as fast as it can, while the attacker's CLI runs containers binding ~/race.
      const r = await w.sh(
        `mkdir -p ~/race && docker run -d --name swapper -v /home/student:/h busybox sh -c 'while true; do rm -rf /h/race; mkdir /h/race; rm -rf /h/race; ln -s ${w.canary} /h/race; done' >/dev/null; for i in 1 2 3 4 5 6 7 8; do docker run --rm -v ~/race:/x busybox sh -c 'touch /x/pwned' 2>&1 | tail -1; done; docker rm -f swapper >/dev/null; rm -rf ~/race`,
        60_000,
      );
      expect(r.output).not.toMatch(/panic/);
      await w.sh("docker rm -f $(docker ps -aq) >/dev/null 2>&1; true");
    },
    { timeoutMs: 90_000, mayCreate: true },
  );

  attack(w, "Mounts with a type the proxy does not know", async () => {
    for (const type of ["npipe", "cluster", "BIND"]) {
      const r = await create(w, {
        Image: "busybox",
        HostConfig: { Mounts: [{ Type: type, Source: w.canary, Target: "/x" }] },
      });
      expect(r.status, type).toBe(403);
    }
  });

  attack(w, "Mounts with a Subpath / unknown option", async () => {
    const r = await create(w, {
      Image: "busybox",
      HostConfig: {
        Mounts: [
          { Type: "volume", Source: "v", Target: "/x", VolumeOptions: { Subpath: "../../../" } },
        ],
      },
    });
    expect(r.status).toBe(400);
  });

  attack(w, "Binds with four fields", async () => {
    const r = await create(w, {
      Image: "busybox",
      HostConfig: { Binds: [`/home/student:/x:ro:${w.canary}`] },
    });
    expect(r.status).toBe(400);
  });

  attack(w, "a working dir in /proc", async () => {
    for (const dir of ["/proc/1/root", "//proc", "/./sys/..//proc/self"]) {
      const r = await create(w, { Image: "busybox", WorkingDir: dir });
      expect(r.status, dir).toBe(403);
    }
  });

  attack(w, "--volumes-from the victim's container", async () => {
    for (const ref of [w.victimContainerId, w.names.vault, `stw-${w.victim}-${w.names.vault}`]) {
      const r = await w.sh(`docker run --rm --volumes-from ${ref} busybox cat /data/secret`);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/No such container/);
    }
  });

  attack(w, "a tmpfs without a size is bounded", async () => {
    const r = await create(w, {
      Image: "busybox",
      HostConfig: { Tmpfs: { "/t": "" }, Mounts: [{ Type: "tmpfs", Target: "/m" }] },
    });
    expect(r.status, r.text).toBe(201);
    const info = await w.server.engine.docker.getContainer(r.json.Id).inspect();
    expect(info.HostConfig.Tmpfs!["/t"]).toBe(`size=${64 * 1024 * 1024}`);
    expect(info.HostConfig.Mounts![0]!.TmpfsOptions!.SizeBytes).toBe(64 * 1024 * 1024);
    await w.server.engine.docker.getContainer(r.json.Id).remove({ force: true });
  });

  attack(
    w,
    "docker cp of a tar with ../ entries into the attacker's own container stays inside it",
    async () => {
      const r = await w.sh(
        `docker create --name cpt busybox true >/dev/null && mkdir -p t && cd t && echo x > f && tar cf ../evil.tar --transform 's,^,../../../../..${w.canary}/,' f && cd .. && docker cp - cpt:/ < evil.tar; docker rm -f cpt >/dev/null`,
      );
      expect(r.output).not.toMatch(/panic/);
    },
  );

  attack(w, "docker cp out of the victim's container", async () => {
    const r = await w.sh(
      `docker cp ${w.victimContainerId}:/data/secret - ; docker cp stw-${w.victim}-${w.names.vault}:/data/secret -`,
    );
    expect(r.output).toMatch(/No such container/);
  });
});
