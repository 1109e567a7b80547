/** Namespaces, capabilities and security options: never the host's, never another session's. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, create } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const refusedRun = (name: string, flags: string, message: RegExp) =>
  attack(w, name, async () => {
    const r = await w.sh(
      `docker run --rm ${flags.replaceAll("VICTIM", w.victimContainerId)} busybox true 2>&1`,
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(message);
  });

describe("namespaces and capabilities", () => {
  refusedRun("--privileged", "--privileged", /does not allow --privileged/);
  refusedRun("--cap-add ALL", "--cap-add ALL", /does not allow --cap-add/);
  refusedRun("--cap-add SYS_ADMIN", "--cap-add SYS_ADMIN", /does not allow --cap-add/);
  refusedRun("--pid host", "--pid host", /does not allow --pid host/);
  refusedRun("--ipc host", "--ipc host", /does not allow --ipc host/);
  refusedRun("--network host", "--network host", /does not allow --network host/);
  refusedRun("--uts host", "--uts host", /does not allow --uts/);
  refusedRun("--userns host", "--userns host", /does not allow --userns/);
  refusedRun("--cgroupns host", "--cgroupns host", /does not allow --cgroupns host/);
  refusedRun("--pid container:<victim>", "--pid container:VICTIM", /No such container/);
  refusedRun("--ipc container:<victim>", "--ipc container:VICTIM", /No such container/);
  refusedRun("--network container:<victim>", "--network container:VICTIM", /No such container/);
  refusedRun(
    "--security-opt seccomp=unconfined",
    "--security-opt seccomp=unconfined",
    /does not allow --security-opt/,
  );
  refusedRun(
    "--security-opt apparmor=unconfined",
    "--security-opt apparmor=unconfined",
    /does not allow --security-opt/,
  );
  refusedRun(
    "--security-opt no-new-privileges=false",
    "--security-opt no-new-privileges=false",
    /does not allow --security-opt/,
  );
  refusedRun("--sysctl", "--sysctl kernel.shm_rmid_forced=1", /does not allow --sysctl/);
  refusedRun("--cgroup-parent", "--cgroup-parent /", /does not allow --cgroup-parent/);
  refusedRun("--runtime", "--runtime runc", /does not allow --runtime/);
  refusedRun("--isolation", "--isolation hyperv", /does not allow --isolation/);
  refusedRun("--link to the victim", "--link VICTIM:v", /does not allow --link/);
  refusedRun(
    "--network <victim's network>",
    `--network placeholder`.replace("placeholder", "stw-x-y"),
    /not found/,
  );

  attack(w, "the victim's network by name, engine name and ID", async () => {
    for (const ref of [
      w.names.net,
      `stw-${w.victim}-${w.names.net}`,
      w.victimNetworkId,
      w.victimNetworkId.slice(0, 12),
    ]) {
      const r = await w.sh(`docker run --rm --network ${ref} busybox true`);
      expect(r.exitCode, ref).not.toBe(0);
      expect(r.output).toMatch(/not found/);
      const c = await w.http(w.attacker, "POST", `/v1.41/networks/${ref}/connect`, {
        body: { Container: "x" },
      });
      expect(c.status).toBe(404);
    }
  });

  attack(w, "connecting the victim's container to the attacker's network", async () => {
    const r = await w.sh(
      `docker network create trap >/dev/null; docker network connect trap ${w.victimContainerId}; docker network connect trap stw-${w.victim}-${w.names.vault}; docker network rm trap >/dev/null`,
    );
    expect(r.output).toMatch(/No such container/);
  });

  attack(w, "network create with host-reaching options", async () => {
    for (const body of [
      { Name: "n", Driver: "macvlan", Options: { parent: "eth0" } },
      { Name: "n", Options: { "com.docker.network.bridge.name": "docker0" } },
      { Name: "n", Internal: false, IPAM: { Config: [{ Subnet: "172.17.0.0/16" }] } },
      { Name: "n", Driver: "host" },
      { Name: "n", ConfigFrom: { Network: "bridge" } },
    ]) {
      const r = await w.http(w.attacker, "POST", "/v1.41/networks/create", { body });
      expect(r.status, JSON.stringify(body)).toBe(403);
    }
  });

  attack(w, "a network asked Internal:false is still internal", async () => {
    const r = await w.http(w.attacker, "POST", "/v1.41/networks/create", {
      body: { Name: "open", Internal: false },
    });
    expect(r.status).toBe(201);
    const n = await w.server.engine.docker.getNetwork(r.json.Id).inspect();
    expect(n.Internal).toBe(true);
    await w.sh("docker network rm open");
  });

  attack(w, "raw HostConfig with case-variant CapAdd / Privileged", async () => {
    for (const body of [
      '{"Image":"busybox","HostConfig":{"capadd":["ALL"]}}',
      '{"Image":"busybox","HostConfig":{"Capadd":["ALL"],"CapAdd":null}}',
      '{"Image":"busybox","hostconfig":{"Privileged":true}}',
    ]) {
      const r = await create(w, body);
      expect(r.status, body).toBe(400);
    }
  });

  attack(w, "docker update adding privileges or lifting limits", async () => {
    const c = await create(w, { Image: "busybox", Cmd: ["sleep", "60"] }, "upd");
    expect(c.status).toBe(201);
    for (const body of [
      { Privileged: true },
      { CapAdd: ["ALL"] },
      { Memory: 8 * 1024 ** 3 },
      { PidsLimit: 100000 },
      { NanoCpus: 4e9 },
      { CpuShares: 100000 },
      { Ulimits: [{ Name: "nproc", Soft: -1, Hard: -1 }] },
      { KernelMemory: 1 },
      { BlkioWeight: 1000 },
      { RestartPolicy: { Name: "always\u0000" } },
    ]) {
      const r = await w.http(w.attacker, "POST", "/v1.41/containers/upd/update", { body });
      expect(r.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
    }
    const info = await w.server.engine.docker.getContainer(c.json.Id).inspect();
    expect(info.HostConfig.Memory).toBe(256 * 1024 ** 2);
    expect(info.HostConfig.PidsLimit).toBe(128);
    await w.server.engine.docker.getContainer(c.json.Id).remove({ force: true });
  });

  attack(w, "docker update of the victim's container", async () => {
    const r = await w.http(w.attacker, "POST", `/v1.41/containers/${w.victimContainerId}/update`, {
      body: { Memory: 6 * 1024 * 1024 },
    });
    expect(r.status).toBe(404);
  });

  attack(w, "User forms of root do not defeat other rules", async () => {
    for (const user of ["0", "00", "root:0", "0:0"]) {
      const r = await w.sh(`docker run --rm --user ${user} --cap-add NET_ADMIN busybox true`);
      expect(r.output, user).toMatch(/does not allow --cap-add/);
    }
  });
});
