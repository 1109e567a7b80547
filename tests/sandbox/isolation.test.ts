/** Two live sessions: nothing one makes is visible to or reachable from the other. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, connect, type AddressInfo } from "node:net";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let a: string;
let b: string;
let aContainerId: string;

beforeAll(async () => {
  server = await startTestServer();
  a = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
  b = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
  const r = await studentShell(
    server,
    a,
    "docker volume create secret-data >/dev/null && docker run -d --name private-web -v secret-data:/data busybox sh -c 'echo s3cret > /data/x; while true; do echo hi | nc -l -p 8080; done'",
  );
  expect(r.exitCode, r.output).toBe(0);
  aContainerId = r.stdout.trim();
});
afterAll(async () => {
  await server?.close();
});

describe("two sessions", () => {
  it("do not see each other's containers, volumes or networks in lists", async () => {
    const r = await studentShell(
      server,
      b,
      "docker ps -a --format '{{.Names}}'; docker volume ls -q; docker network ls --format '{{.Name}}'; docker info --format '{{.Containers}}'",
    );
    expect(r.exitCode, r.output).toBe(0);
    expect(r.stdout).not.toContain("private-web");
    expect(r.stdout).not.toContain("secret-data");
    expect(r.stdout.trim().split("\n")).toEqual(["bridge", "0"]);
  });

  it("do not see each other's events", async () => {
    const r = await studentShell(server, b, `docker events --since 10m --until "$(date +%s)"`);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.stdout).not.toContain("private-web");
    expect(r.stdout).not.toContain("secret-data");
  });

  it("cannot name the other's objects by name, ID or ID prefix", async () => {
    for (const ref of [
      "private-web",
      aContainerId,
      aContainerId.slice(0, 12),
      aContainerId.slice(0, 4),
      `stw-${a}-private-web`,
    ]) {
      const r = await studentShell(
        server,
        b,
        `docker inspect --type container ${ref}; docker logs ${ref}; docker rm -f ${ref}`,
      );
      expect(r.output).toMatch(/No such container/);
      expect(r.output).not.toContain("s3cret");
    }
    const v = await studentShell(
      server,
      b,
      "docker volume inspect secret-data; docker run --rm -v secret-data:/data busybox cat /data/x",
    );
    expect(v.output).toMatch(/no such volume/i);
    expect(v.output).not.toContain("s3cret"); // b got a fresh, empty volume of its own
    const stillThere = await studentShell(server, a, "docker ps --format '{{.Names}}'");
    expect(stillThere.stdout.trim()).toBe("private-web");
  });

  it("cannot join the other's container through --volumes-from, --network container: or --pid container:", async () => {
    for (const flag of [
      `--volumes-from ${aContainerId}`,
      `--network container:${aContainerId}`,
      `--pid container:${aContainerId}`,
    ]) {
      const r = await studentShell(server, b, `docker run --rm ${flag} busybox true`);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/No such container/);
    }
  });

  it("cannot reach the other's container over the network, and have no route out", async () => {
    const info = await server.engine.docker.getContainer(aContainerId).inspect();
    const ip = Object.values(info.NetworkSettings.Networks)[0]!.IPAddress;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const own = await studentShell(
      server,
      a,
      "docker run --rm busybox sh -c 'nc -w 2 private-web 8080 </dev/null'",
    );
    expect(own.stdout.trim()).toBe("hi"); // reachable inside its own session, by name
    const other = await studentShell(
      server,
      b,
      `docker run --rm busybox sh -c 'nc -w 2 ${ip} 8080 </dev/null; echo exit=$?'`,
    );
    expect(other.stdout).not.toContain("hi");
    expect(other.stdout).toContain("exit=1");
  });

  it("cannot reach the host's own ports, not even through the network's gateway", async () => {
    // A listener on every host address, as a platform port bound to 0.0.0.0 would be.
    const listener = createServer((socket) => socket.end("host-secret\n"));
    await new Promise<void>((resolve) => listener.listen(0, "0.0.0.0", resolve));
    const port = (listener.address() as AddressInfo).port;
    try {
      const net = await server.engine.docker.getNetwork(`stw-${b}-bridge`).inspect();
      const gateway = net.IPAM!.Config![0]!.Gateway as string;
      const r = await studentShell(
        server,
        b,
        `docker run --rm busybox sh -c 'nc -w 2 ${gateway} ${port} </dev/null; echo exit=$?'`,
      );
      expect(r.stdout).not.toContain("host-secret");
      expect(r.stdout).toContain("exit=1");
      // The same listener answers from the host itself: the test can tell a refusal from a dead port.
      const local = await new Promise<string>((resolve) =>
        connect(port, gateway).on("data", (d) => resolve(d.toString())),
      );
      expect(local).toContain("host-secret");
    } finally {
      listener.close();
    }
  });
});
