/** Devices: none, in any spelling. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, create } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

describe("devices", () => {
  for (const [name, flags, message] of [
    ["--device /dev/sda", "--device /dev/sda", /does not allow --device/],
    ["--device /dev/kmsg", "--device /dev/kmsg:/dev/kmsg:rwm", /does not allow --device/],
    [
      "--device-cgroup-rule",
      "--device-cgroup-rule 'b *:* rwm'",
      /does not allow --device-cgroup-rule/,
    ],
    ["--gpus all", "--gpus all", /does not allow --gpus/],
    ["-v /dev:/dev", "-v /dev:/dev", /does not allow the bind mount/],
    [
      "--mount bind of /dev/mem",
      "--mount type=bind,src=/dev/mem,dst=/m",
      /does not allow the bind mount/,
    ],
  ] as const) {
    attack(w, name, async () => {
      const r = await w.sh(`docker run --rm ${flags} busybox true`);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(message);
    });
  }

  attack(w, "raw Devices / DeviceRequests in other spellings", async () => {
    for (const body of [
      '{"Image":"busybox","HostConfig":{"devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}}',
      '{"Image":"busybox","HostConfig":{"DeviceRequests":[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]}}',
      '{"Image":"busybox","HostConfig":{"Devices":[],"DEVICES":[{"PathOnHost":"/dev/sda"}]}}',
    ]) {
      const r = await create(w, body);
      expect(r.status, body).toBeGreaterThanOrEqual(400);
    }
  });

  attack(w, "mknod of a block device inside a container is not usable", async () => {
    const r = await w.sh(
      "docker run --rm busybox sh -c 'mknod /tmp/sda b 8 0 && head -c 16 /tmp/sda; echo exit=$?'",
    );
    expect(r.output).not.toMatch(/exit=0/);
  });
});
