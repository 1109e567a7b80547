/**
 * Volume drivers and their options reach mount(2): only the plain local driver, and of its
 * options only a bounded tmpfs (no host path).
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, create } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const volumeCreate = (body: unknown) =>
  w.http(
    w.attacker,
    "POST",
    "/v1.41/volumes/create",
    typeof body === "string" ? { raw: body } : { body },
  );

describe("volumes and drivers", () => {
  attack(w, "docker volume create --opt type=none,o=bind,device=<host path>", async () => {
    const r = await w.sh(
      `docker volume create --opt type=none --opt o=bind --opt device=${w.canary} evil`,
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/does not allow volume driver options/);
  });

  attack(w, "volume create with tmpfs / nfs options (mount(2) types)", async () => {
    for (const opts of [
      { type: "tmpfs", device: "tmpfs", o: "size=100g" },
      { type: "nfs", o: "addr=127.0.0.1", device: ":/" },
    ]) {
      const r = await volumeCreate({ Name: "evil", DriverOpts: opts });
      expect(r.status).toBe(403);
    }
  });

  attack(w, "a tmpfs volume's options bent toward a device, a bind or more memory", async () => {
    for (const opts of [
      { type: "tmpfs", device: "/dev/vda" },
      { type: "tmpfs", device: "tmpfs", o: "bind" },
      { type: "tmpfs", device: "tmpfs", o: "size=10m,remount" },
      { type: "tmpfs", device: "tmpfs", o: "size=1g" },
      { type: "tmpfs", device: "tmpfs", o: "nr_inodes=100g" },
      { type: "tmpfs", device: "tmpfs", Type: "none" },
      { type: "ext4", device: "tmpfs" },
    ]) {
      const r = await volumeCreate({ Name: "evil", DriverOpts: opts });
      expect([400, 403], JSON.stringify(opts)).toContain(r.status);
    }
    const made = await volumeCreate({
      Name: "scratch",
      DriverOpts: { type: "tmpfs", device: "tmpfs", o: "uid=1000" },
    });
    expect(made.status, made.text).toBe(201);
    // No size asked: the --tmpfs default, never an unbounded tmpfs (half the host's memory).
    // The ids as the student gave them (the engine got them moved into the remapped range).
    expect(made.json.Options.o).toBe("size=67108864,uid=1000,gid=0");
    expect((await w.http(w.attacker, "DELETE", "/v1.41/volumes/scratch")).status).toBe(204);
  });

  attack(w, "case-variant DriverOpts keys", async () => {
    const r = await volumeCreate(
      '{"Name":"evil","DriverOpts":{},"driveropts":{"type":"none","o":"bind","device":"/"}}',
    );
    expect(r.status).toBe(400);
    const alone = await volumeCreate(
      '{"Name":"evil","driverOpts":{"type":"none","o":"bind","device":"/"}}',
    );
    expect(alone.status).toBe(400);
  });

  attack(w, "other volume drivers, spelled oddly", async () => {
    for (const driver of ["nfs", "LOCAL", "local ", "local\u0000", "../local"]) {
      const r = await volumeCreate({ Name: "evil", Driver: driver });
      expect(r.status, driver).toBe(403);
    }
  });

  attack(w, "inline DriverConfig in --mount type=volume", async () => {
    const r = await create(w, {
      Image: "busybox",
      HostConfig: {
        Mounts: [
          {
            Type: "volume",
            Source: "evil",
            Target: "/x",
            VolumeOptions: {
              DriverConfig: {
                Name: "local",
                Options: { type: "none", o: "bind", device: w.canary },
              },
            },
          },
        ],
      },
    });
    expect(r.status).toBe(403);
    const cli = await w.sh(
      `docker run --rm --mount type=volume,src=evil,dst=/x,volume-driver=local,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=${w.canary} busybox touch /x/pwned`,
    );
    expect(cli.output).toMatch(/does not allow volume driver options/);
  });

  attack(w, "HostConfig.VolumeDriver", async () => {
    const r = await w.sh("docker run --rm --volume-driver nfs -v evil:/x busybox true");
    expect(r.output).toMatch(/does not allow --volume-driver/);
  });

  attack(w, "volume names with path tricks", async () => {
    for (const name of [
      "../evil",
      "a/b",
      ".hidden",
      "-x",
      "x".repeat(300),
      `stw-${w.victim}-${w.names.secretVol}/..`,
    ]) {
      const r = await volumeCreate({ Name: name });
      expect(r.status, name).toBe(400);
    }
  });

  attack(w, "ClusterVolumeSpec", async () => {
    const r = await volumeCreate({ Name: "evil", ClusterVolumeSpec: { Group: "x" } });
    expect(r.status).toBe(403);
  });

  attack(w, "a stowage.owner label on a new volume", async () => {
    const r = await volumeCreate({ Name: "evil", Labels: { "stowage.owner": w.victim } });
    expect(r.status).toBe(403);
  });

  attack(
    w,
    "the victim's volume named in full gives the attacker a new, empty volume of its own",
    async () => {
      const r = await w.sh(
        `docker run --rm -v stw-${w.victim}-${w.names.secretVol}:/x busybox cat /x/secret`,
      );
      expect(r.output).not.toContain(w.secret);
      const volumes = (await w.snapshot()).volumes;
      expect(volumes.every((v) => v.startsWith(`stw-${w.attacker}-`))).toBe(true);
      await w.sh("docker volume rm $(docker volume ls -q) >/dev/null");
    },
    { mayCreate: true },
  );

  attack(w, "the victim's volume: inspect, remove (by name and engine name)", async () => {
    for (const ref of [w.names.secretVol, `stw-${w.victim}-${w.names.secretVol}`]) {
      expect((await w.http(w.attacker, "GET", `/v1.41/volumes/${ref}`)).status).toBe(404);
      expect((await w.http(w.attacker, "DELETE", `/v1.41/volumes/${ref}?force=1`)).status).toBe(
        404,
      );
    }
  });

  attack(
    w,
    "more volumes than the session may hold",
    async () => {
      const r = await w.sh(
        "for i in $(seq 1 35); do docker volume create q$i >/dev/null || break; done; docker volume ls -q | wc -l",
        60_000,
      );
      expect(r.output).toMatch(/at most 30 volumes/);
      expect((await w.snapshot()).volumes.length).toBeLessThanOrEqual(30);
      await w.sh("docker volume rm $(docker volume ls -q) >/dev/null");
    },
    { mayCreate: true, timeoutMs: 90_000 },
  );
});
