/**
 * A remote engine's host, through its helper container (sandbox/docker/host-helper.ts): the
 * session cgroups, the firewall rule and the free memory, done with `docker exec` in a helper on
 * the engine, never with this host's files or iptables. The default engine of this host stands
 * in for the remote one (`remote=1`), so the test sees the effects from outside: cgroupfs under
 * /sys/fs/cgroup, the host's iptables, /proc/meminfo. And students never see the helper.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { engineFrom, type Engine } from "../../sandbox/docker/engine.ts";
import { EngineFleet } from "../../sandbox/docker/engine-fleet.ts";
import { HOST_HELPER_ROLE, HostHelper, hostHelperName } from "../../sandbox/docker/host-helper.ts";
import { WORKSTATION_IMAGE } from "../../sandbox/images/catalog.ts";
import {
  LOCAL_CGROUP_FILES,
  createSessionCgroup,
  engineCgroupHost,
  removeInstanceCgroups,
  removeSessionCgroup,
  sessionCgroupPath,
  type CgroupHost,
} from "../../sandbox/sessions/session-cgroup.ts";
import { HOST_FIREWALL_RULE, closeHostToSandboxes } from "../../sandbox/sessions/host-firewall.ts";
import {
  LABEL_INSTANCE,
  LABEL_OWNER,
  LABEL_ROLE,
  LABEL_SESSION,
} from "../../sandbox/naming/scope.ts";
import {
  ApiClient,
  removeInstanceCgroupsHere,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";

const run = promisify(execFile);
const log = pino({ level: "silent" });
const DOCKER_HOST = (process.env.DOCKER_HOST || "unix:///var/run/docker.sock").replace(/\?.*/, "");
/** This host's default engine, marked remote: the server may use nothing of its host but the engine. */
const engine: Engine = engineFrom(`${DOCKER_HOST}?remote=1`, { concurrentStarts: 1 });
const local: Engine = engineFrom(DOCKER_HOST, { concurrentStarts: 1 });
const CGROUP = "/sys/fs/cgroup";
const v2 = existsSync(join(CGROUP, "cgroup.controllers"));
const tag = () => randomBytes(4).toString("hex");
const helpers: HostHelper[] = [];
const instances: string[] = [];

function helperFor(
  instance: string,
  options?: { network?: "host" | "none"; image?: string },
): HostHelper {
  const helper = new HostHelper(engine, instance, log, options);
  helpers.push(helper);
  instances.push(instance);
  return helper;
}

async function inspectOrUndefined(name: string) {
  return local.docker
    .getContainer(name)
    .inspect()
    .catch(() => undefined);
}

const ruleLine = `-A ${HOST_FIREWALL_RULE.join(" ")}`;
const rules = async () => (await run("iptables", ["-w", "-S", "INPUT"])).stdout.trim().split("\n");
let copiesAtStart = 0;
beforeAll(async () => {
  copiesAtStart = (await rules()).filter((line) => line === ruleLine).length;
});

afterAll(async () => {
  // Were the check before the insert broken, the copies it added on the host go again
  // (identical rules: only the extra ones; the one every server relies on stays).
  const copies = (await rules()).filter((line) => line === ruleLine).length;
  for (let extra = copies - Math.max(1, copiesAtStart); extra > 0; extra--)
    await run("iptables", ["-w", "-D", ...HOST_FIREWALL_RULE]);
  for (const helper of helpers) await helper.remove().catch(() => undefined);
  // Whatever a failed test left in cgroupfs (this host's own: the engine is this host's).
  const info = await local.docker.info();
  const { host } = await engineCgroupHost(local, info, undefined);
  if (host) for (const i of instances) await removeInstanceCgroups(host, i).catch(() => undefined);
  // And in every hierarchy of this host (a session group the server made through its helper).
  for (const i of instances) await removeInstanceCgroupsHere(i).catch(() => undefined);
});

describe("the helper container", () => {
  const instance = `h${tag()}`;
  const helper = helperFor(instance);

  it("is made on demand with exactly its rights, labelled for its instance and no session", async () => {
    expect(helper.engine.remote).toBe(true);
    await helper.run(["true"]);
    const info = await local.docker.getContainer(hostHelperName(instance)).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels).toMatchObject({
      [LABEL_INSTANCE]: instance,
      [LABEL_ROLE]: HOST_HELPER_ROLE,
    });
    expect(info.Config.Labels[LABEL_OWNER]).toBeUndefined();
    expect(info.Config.Labels[LABEL_SESSION]).toBeUndefined();
    expect(info.Config.Cmd).toEqual(["sleep", "infinity"]);
    const h = info.HostConfig;
    expect(h.UsernsMode).toBe("host");
    expect(h.NetworkMode).toBe("host");
    expect((h as { CgroupnsMode?: string }).CgroupnsMode).toBe("host");
    expect(h.CapDrop).toEqual(["ALL"]);
    expect([...(h.CapAdd ?? [])].sort()).toEqual(["DAC_OVERRIDE", "NET_ADMIN"]);
    expect(h.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.Privileged).toBe(false);
    expect(h.Binds).toEqual(["/sys/fs/cgroup:/sys/fs/cgroup:rw"]);
    expect(info.Mounts.map((m) => m.Destination)).toEqual(["/sys/fs/cgroup"]);
    expect(h.Memory).toBe(64 * 2 ** 20);
    expect(h.PidsLimit).toBe(32);
    // What its commands really hold: CAP_DAC_OVERRIDE (1) and CAP_NET_ADMIN (12), nothing else.
    const status = (await helper.run(["cat", "/proc/self/status"])).stdout;
    expect(/^CapEff:\s+(\S+)/m.exec(status)?.[1]).toBe("0000000000001002");
    expect(/^CapBnd:\s+(\S+)/m.exec(status)?.[1]).toBe("0000000000001002");
    expect(/^NoNewPrivs:\s+(\S+)/m.exec(status)?.[1]).toBe("1");
    await expect(helper.run(["touch", "/etc/x"])).rejects.toThrow(/Read-only file system/);
  });

  it("is found again by its name, and made again when it went missing", async () => {
    const first = (await local.docker.getContainer(hostHelperName(instance)).inspect()).Id;
    // A second object for the same instance (the next server start) uses the running one.
    const again = helperFor(instance);
    await again.run(["true"]);
    expect((await local.docker.getContainer(hostHelperName(instance)).inspect()).Id).toBe(first);
    // Removed under it (an operator, the instance's cleanup at start): made again on the next command.
    await local.docker.getContainer(first).remove({ force: true });
    const before = helper.execCount;
    expect((await helper.run(["echo", "back"])).stdout).toBe("back\n");
    expect(helper.execCount).toBe(before + 2); // the failed try and the one in the new helper
    const second = (await local.docker.getContainer(hostHelperName(instance)).inspect()).Id;
    expect(second).not.toBe(first);
    // Stopped (an engine restart): started afresh too.
    await local.docker.getContainer(second).stop({ t: 0 });
    expect((await helper.run(["echo", "back"])).stdout).toBe("back\n");
    // remove(): gone, and no command makes it again.
    await helper.remove();
    expect(await inspectOrUndefined(hostHelperName(instance))).toBeUndefined();
    await expect(helper.run(["true"])).rejects.toThrow(/removed/);
  });
});

describe("the session cgroup on the engine's host", () => {
  const instance = `h${tag()}`;
  const helper = helperFor(instance);
  let host: CgroupHost;
  const group = (controller: string, session: string) =>
    v2
      ? join(CGROUP, sessionCgroupPath(instance, session))
      : join(CGROUP, controller, sessionCgroupPath(instance, session));
  const read = async (controller: string, session: string, file: string) =>
    (await readFile(join(group(controller, session), file), "utf8")).trim();

  beforeAll(async () => {
    const found = await engineCgroupHost(engine, await engine.docker.info(), helper);
    if (!found.host) throw new Error(`no cgroup host through the helper: ${found.problem}`);
    host = found.host;
  });

  it("goes through the helper, not this host's files", async () => {
    expect(host.files).not.toBe(LOCAL_CGROUP_FILES);
    const before = helper.execCount;
    await createSessionCgroup(host, sessionCgroupPath(instance, "s1"), {
      memoryBytes: 300 * 2 ** 20,
      nanoCpus: 1.5e9,
      pids: 200,
    });
    // One exec makes the whole group, limits included.
    expect(helper.execCount).toBe(before + 1);
  });

  it("is made under /sys/fs/cgroup with the session's memory, CPU and pids limits", async () => {
    if (v2) {
      expect(await read("", "s1", "memory.max")).toBe(String(300 * 2 ** 20));
      expect(await read("", "s1", "cpu.max")).toBe("150000 100000");
      expect(await read("", "s1", "pids.max")).toBe("200");
    } else {
      expect(await read("memory", "s1", "memory.limit_in_bytes")).toBe(String(300 * 2 ** 20));
      expect(await read("cpu", "s1", "cpu.cfs_quota_us")).toBe("150000");
      expect(await read("cpu", "s1", "cpu.cfs_period_us")).toBe("100000");
      expect(await read("pids", "s1", "pids.max")).toBe("200");
    }
  });

  it("holds a container the engine starts under it, and is removed in every hierarchy after it", async () => {
    const name = `hh-${instance}`;
    const container = await local.docker.createContainer({
      name,
      Image: "busybox",
      Cmd: ["sleep", "60"],
      Labels: { [LABEL_INSTANCE]: instance },
      HostConfig: { CgroupParent: sessionCgroupPath(instance, "s1"), NetworkMode: "none" },
    });
    try {
      await container.start();
      const pid = (await container.inspect()).State.Pid;
      const cgroups = await readFile(`/proc/${pid}/cgroup`, "utf8");
      expect(cgroups).toContain(`/stowage/${instance}/s1/`);
    } finally {
      await container.remove({ force: true });
    }
    await removeSessionCgroup(host, sessionCgroupPath(instance, "s1"));
    // Every hierarchy (the engine made the group in each, v1), not only the three with limits.
    const hierarchies = v2 ? [""] : await host.files.names(CGROUP);
    expect(hierarchies.length).toBeGreaterThan(0);
    for (const h of hierarchies) expect(existsSync(group(h, "s1")), h).toBe(false);
  });

  it("removes the instance's groups but the kept sessions', then the instance's own", async () => {
    for (const s of ["s2", "s3"])
      await createSessionCgroup(host, sessionCgroupPath(instance, s), {
        memoryBytes: 2 ** 28,
        nanoCpus: 1e9,
        pids: 100,
      });
    await removeInstanceCgroups(host, instance, new Set(["s3"]));
    expect(existsSync(group("memory", "s2"))).toBe(false);
    expect(existsSync(group("memory", "s3"))).toBe(true);
    await removeInstanceCgroups(host, instance);
    expect(existsSync(group("memory", "s3"))).toBe(false);
    expect(existsSync(join(group("memory", "s3"), ".."))).toBe(false); // /stowage/<instance>
    expect(existsSync(v2 ? join(CGROUP, "stowage") : join(CGROUP, "memory", "stowage"))).toBe(true);
  });

  it("says why when it cannot write there", async () => {
    await expect(
      host.files.apply([{ write: join(CGROUP, "no-such-group-here", "pids.max"), value: "1" }]),
    ).rejects.toThrow(/on the engine's host exited .*no-such-group-here/);
  });
});

describe("the firewall rule on the engine's host", () => {
  it("is added once at the top of INPUT of the helper's network, every other rule untouched", async () => {
    // A network namespace of the helper's own: what it adds there is seen from outside with
    // this host's iptables (nsenter), without adding rules to the host at will.
    const helper = helperFor(`h${tag()}`, { network: "none" });
    await helper.run(["iptables-nft", "-w", "-A", "INPUT", "-s", "192.0.2.1", "-j", "DROP"]);
    await helper.run(["iptables-nft", "-w", "-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
    expect(await closeHostToSandboxes(log, helper)).toBe(true);
    expect(await closeHostToSandboxes(log, helper)).toBe(true); // again: still once
    const pid = (await local.docker.getContainer(helper.name).inspect()).State.Pid;
    const { stdout } = await run("nsenter", [
      "-t",
      String(pid),
      "-n",
      "iptables",
      "-w",
      "-S",
      "INPUT",
    ]);
    expect(stdout.trim().split("\n")).toEqual([
      "-P INPUT ACCEPT",
      ruleLine,
      "-A INPUT -s 192.0.2.1/32 -j DROP",
      "-A INPUT -i lo -j ACCEPT",
    ]);
  });

  it("is on the host once after any number of calls, and stays when the helper goes", async () => {
    const rules = async () =>
      (await run("iptables", ["-w", "-S", "INPUT"])).stdout.trim().split("\n");
    const before = await rules();
    const helper = helperFor(`h${tag()}`);
    for (let i = 0; i < 3; i++) expect(await closeHostToSandboxes(log, helper)).toBe(true);
    const after = await rules();
    expect(after.filter((line) => line === ruleLine)).toHaveLength(1);
    // Nothing else of the chain was removed (other servers' tests may add rules meanwhile).
    for (const line of before) expect(after).toContain(line);
    // Never removed: another server (and every session on this host) relies on it.
    await helper.remove();
    expect((await rules()).filter((line) => line === ruleLine)).toHaveLength(1);
  });
});

describe("the free memory of the engine's host", () => {
  const meminfo = async () =>
    Number(/^MemAvailable:\s+(\d+) kB/m.exec(await readFile("/proc/meminfo", "utf8"))![1]) * 1024;

  it("is the host's MemAvailable, read through the helper", async () => {
    const helper = helperFor(`h${tag()}`);
    const before = helper.execCount;
    const remote = await helper.memAvailableBytes();
    const here = await meminfo();
    expect(helper.execCount).toBe(before + 1);
    expect(remote).toBeGreaterThan(64 * 2 ** 20);
    // The same host, a moment apart: within a GiB (other tests start and stop containers meanwhile).
    expect(Math.abs(remote! - here)).toBeLessThan(2 ** 30);
  });

  it("is read at most every 30 s per remote engine for placement", async () => {
    const helper = helperFor(`h${tag()}`);
    const fleet = new EngineFleet([local, engine], log);
    fleet.useHostHelper(engine, helper);
    const first = await fleet.memAvailableBytes(engine);
    expect(first).toBeGreaterThan(64 * 2 ** 20);
    const execs = helper.execCount;
    expect(await fleet.memAvailableBytes(engine)).toBe(first);
    await fleet.place(() => 0, 2 ** 20);
    expect(helper.execCount).toBe(execs);
    // A local engine's is this host's, read each time, without the helper.
    expect(await fleet.memAvailableBytes(local)).toBeGreaterThan(64 * 2 ** 20);
    expect(helper.execCount).toBe(execs);
  });
});

describe("a server with a remote engine (remote=1 on this host's engine)", () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let session = "";
  const instance = `h${tag()}`;
  const other = `h${tag()}`;
  let leftoverId = "";
  let otherId = "";

  beforeAll(async () => {
    instances.push(instance, other);
    // A previous run's helper of this instance (a crash, and a deploy since that changed the
    // helper's image: here another course image), and another instance's live one.
    const leftover = helperFor(instance, { image: WORKSTATION_IMAGE });
    await leftover.run(["true"]);
    leftoverId = (await local.docker.getContainer(hostHelperName(instance)).inspect()).Id;
    await helperFor(other).run(["true"]);
    otherId = (await local.docker.getContainer(hostHelperName(other)).inspect()).Id;
    server = await startTestServer({
      instance,
      dockerHost: `${DOCKER_HOST}?remote=1`,
      sessionMemoryMb: 400,
      sessionPids: 300,
    });
    session = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
  });
  let closed = false;
  afterAll(async () => {
    if (!closed) await server?.close();
  });

  it("found the previous run's helper by its labels at start, and never touched another instance's", async () => {
    const now = await inspectOrUndefined(hostHelperName(instance));
    expect(now?.Id).not.toBe(leftoverId); // replaced: it ran another image than this server's
    expect(now?.State.Running).toBe(true);
    expect(server.sessions.hostHelper(server.engine)!.madeCount).toBe(1);
    expect(await inspectOrUndefined(leftoverId)).toBeUndefined();
    const theirs = await inspectOrUndefined(hostHelperName(other));
    expect(theirs?.Id).toBe(otherId);
    expect(theirs?.State.Running).toBe(true);
  });

  it("made the session's cgroup through its helper", async () => {
    expect(server.sessions.get(session)?.scope.cgroupParent).toBe(
      sessionCgroupPath(instance, session),
    );
    const dir = v2
      ? join(CGROUP, sessionCgroupPath(instance, session))
      : join(CGROUP, "memory", sessionCgroupPath(instance, session));
    expect(
      (await readFile(join(dir, v2 ? "memory.max" : "memory.limit_in_bytes"), "utf8")).trim(),
    ).toBe(String(400 * 2 ** 20));
    const helper = await local.docker.getContainer(hostHelperName(instance)).inspect();
    expect(helper.State.Running).toBe(true);
    expect(helper.Config.Labels[LABEL_INSTANCE]).toBe(instance);
    // Another session: its group is one exec in the helper; its end, two (the hierarchies, the rmdirs).
    const helperOf = server.sessions.hostHelper(server.engine)!;
    expect(server.engine.remote).toBe(true);
    const before = helperOf.execCount;
    const client = new ApiClient(server.url);
    const second = (await client.call("POST", "/api/sessions")).body.id as string;
    expect(helperOf.execCount).toBe(before + 1);
    expect(existsSync(join(CGROUP, v2 ? "" : "pids", sessionCgroupPath(instance, second)))).toBe(
      true,
    );
    expect((await client.call("DELETE", `/api/sessions/${second}`)).status).toBe(204);
    expect(helperOf.execCount).toBe(before + 3);
    expect(existsSync(join(CGROUP, v2 ? "" : "pids", sessionCgroupPath(instance, second)))).toBe(
      false,
    );
  });

  it("never shows the helper to a student: not listed, inspected, exec'd, stopped or removed; its image neither", async () => {
    const helper = await local.docker.getContainer(hostHelperName(instance)).inspect();
    const refs = [
      hostHelperName(instance),
      helper.Id,
      helper.Id.slice(0, 12),
      helper.Id.slice(0, 4),
    ];
    const listed = await studentShell(
      server,
      session,
      [
        "docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Labels}}'",
        `docker ps -a -q --no-trunc --filter label=${LABEL_ROLE}=${HOST_HELPER_ROLE} --filter label=${LABEL_INSTANCE}=${instance}`,
        "docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'",
        "docker system df -v",
        // The helper's execs (exec_create, exec_start, exec_die) are on the engine's event stream;
        // the student's own container's are shown (the stream answered), the helper's not.
        "docker create --name mine busybox true >/dev/null",
        "docker events --since 10m --until $(($(date +%s) + 1))",
      ].join("; "),
    );
    expect(listed.exitCode, listed.output).toBe(0);
    expect(listed.output).toContain("workstation"); // the lists answered (docker system df names images)
    expect(listed.output).toMatch(/container create \S+ .*name=mine/);
    expect(listed.output).not.toContain(helper.Id.slice(0, 12));
    expect(listed.output).not.toContain(hostHelperName(instance));
    expect(listed.output).not.toContain("host-tools");
    const named = await studentShell(
      server,
      session,
      refs
        .flatMap((ref) => [
          `docker inspect ${ref}`,
          `docker exec ${ref} cat /proc/meminfo`,
          `docker stop -t 0 ${ref}`,
          `docker rm -f ${ref}`,
          `docker logs ${ref}`,
        ])
        .concat(["docker image inspect stowage/host-tools", "exit 0"])
        .join("; "),
      60_000,
    );
    // Every answer is a refusal naming only what the student typed: nothing of the helper shown.
    expect(named.output).not.toContain("MemAvailable");
    expect(named.output).not.toContain(`"${helper.Id}"`); // an inspect's JSON
    expect(named.output).not.toContain("sleep infinity");
    expect(named.output.match(/No such (container|object)/g)?.length, named.output).toBe(
      refs.length * 5,
    );
    expect(named.output).toMatch(/No such image: stowage\/host-tools/);
    const ran = await studentShell(
      server,
      session,
      "docker run --rm stowage/host-tools id",
      60_000,
    );
    expect(ran.exitCode).not.toBe(0);
    expect(ran.output).not.toContain("uid=");
    // And it is still there, the same container, running.
    const after = await local.docker.getContainer(hostHelperName(instance)).inspect();
    expect(after.Id).toBe(helper.Id);
    expect(after.State.Running).toBe(true);
  });

  it("removes its helper at a clean stop, and only its own", async () => {
    closed = true;
    await server.close();
    expect(await inspectOrUndefined(hostHelperName(instance))).toBeUndefined();
    expect(existsSync(join(CGROUP, v2 ? "" : "memory", "stowage", instance))).toBe(false);
    const theirs = await inspectOrUndefined(hostHelperName(other));
    expect(theirs?.Id).toBe(otherId);
    expect(theirs?.State.Running).toBe(true);
  });
});
