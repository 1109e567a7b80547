/**
 * The relay that stands in for the proxy socket's bind mount on a remote engine
 * (sandbox/sessions/socket-relay.ts). A fixture workstation like the real one (the workstation
 * image, user 1000, read-only root, tmpfs /tmp and /run/stowage, no capabilities, no network) has
 * NO bind of the server's socket: its docker CLI reaches the session's real proxy only through
 * the agent and the exec's stdin/stdout. The far end is a real test server's session proxy (not
 * the engine socket): the student's commands go through the same policy, labels and cleanup as
 * a real session's, so nothing they make escapes the test's instance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import pino from "pino";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import {
  keepSocketRelay,
  startSocketRelay,
  type SocketRelay,
} from "../../sandbox/sessions/socket-relay.ts";
import {
  createRelayWorkstation,
  RELAY_SOCKET as SOCKET,
  relayOptions,
} from "../../tools/relay-workstation.ts";
import type { Logger } from "../../sandbox/log.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let sessionId: string;
let fixtureId: string;
let relay: SocketRelay | undefined;
const logged: string[] = [];
const log = pino(
  { level: "debug" },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString());
      done();
    },
  }),
) as unknown as Logger;

const sh = (script: string, timeoutMs = 60_000) =>
  runInWorkstation(server.engine.docker, fixtureId, script, { timeoutMs });

const options = () => relayOptions(server, sessionId, fixtureId, log);
const startRelay = () => startSocketRelay(options());

/** Whether `promise` settles within `ms`. */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
  ]);

beforeAll(async () => {
  server = await startTestServer();
  sessionId = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
  fixtureId = await createRelayWorkstation(server, sessionId);
  relay = await startRelay();
}, 60_000);

afterAll(async () => {
  relay?.close();
  if (fixtureId) await server.engine.docker.getContainer(fixtureId).remove({ force: true });
  await server?.close();
});

describe("the workstation's docker socket through the relay", () => {
  it("answers `docker version` from the session's proxy on a socket only the student may use", async () => {
    const engineVersion = (await server.engine.docker.version()).Version;
    const r = await sh(
      `stat -c '%a %U %F' ${SOCKET} && docker version --format '{{.Server.Version}}'`,
    );
    expect(r.exitCode, r.output).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([`600 student socket`, engineVersion]);
  });

  it("passes attached streams untouched, and the CLI's half-close of its input", async () => {
    const r = await sh(
      [
        "docker run --rm busybox echo hi",
        "echo data | docker run -i --rm busybox cat",
        "head -c 300000 /dev/urandom > /tmp/in",
        "docker run -i --rm busybox cat < /tmp/in | cmp - /tmp/in && echo same",
        "docker run -d --name halfclose busybox sleep 60 >/dev/null",
        "echo exec | docker exec -i halfclose cat",
        "docker rm -f halfclose >/dev/null",
      ].join(" && "),
      30_000,
    );
    expect(r.timedOut, r.output).toBe(false);
    expect(r.stdout.trim().split("\n"), r.output).toEqual(["hi", "data", "same", "exec"]);
  });

  it("carries 40 concurrent commands", async () => {
    const engineVersion = (await server.engine.docker.version()).Version;
    const r = await sh(
      "for i in $(seq 40); do docker version --format '{{.Server.Version}}' > /tmp/v$i 2>&1 & done; wait; cat /tmp/v*; rm /tmp/v*",
    );
    const lines = r.stdout.trim().split("\n");
    expect(lines, r.output).toHaveLength(40);
    expect(new Set(lines), r.output).toEqual(new Set([engineVersion]));
  });

  it("copies 20 MB into a container and back intact", async () => {
    const r = await sh(
      [
        "head -c 20000000 /dev/urandom > /tmp/up",
        "docker run -d --name box busybox sleep 600 >/dev/null",
        "docker cp -q /tmp/up box:/up",
        "docker exec box sha256sum /up | cut -d' ' -f1",
        "docker cp -q box:/up /tmp/down",
        "sha256sum < /tmp/up | cut -d' ' -f1",
        "sha256sum < /tmp/down | cut -d' ' -f1",
        "rm /tmp/up /tmp/down",
      ].join(" && "),
      90_000,
    );
    const sums = r.stdout.trim().split("\n");
    expect(sums, r.output).toHaveLength(3);
    expect(new Set(sums).size, r.output).toBe(1);
  }, 100_000);

  it("lets a stalled reader hold only its own window: other commands go on, no side buffers without bound", async () => {
    await sh("docker run -d --name flood busybox sleep 600 >/dev/null");
    // An endless stream into a reader that never reads, left running in the background.
    await sh("(docker exec flood cat /dev/zero | sleep 600) >/dev/null 2>&1 &");
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const serverBefore = process.memoryUsage().arrayBuffers;
    const r = await sh(
      "docker version --format ok && docker run --rm busybox echo hi && ps -o rss= -C perl",
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const serverAfter = process.memoryUsage().arrayBuffers;
    await sh("pkill -u student -f 'cat /dev/zero'; pkill -u student -x sleep; true");
    expect(r.timedOut, r.output).toBe(false);
    const [ok, hi, agentRssKb] = r.stdout.trim().split("\n");
    expect([ok, hi], r.output).toEqual(["ok", "hi"]);
    // /dev/zero runs at GB/s: without credit the agent (or this process) would hold gigabytes by now.
    expect(Number(agentRssKb), "the agent's memory (KiB)").toBeLessThan(32 * 1024);
    expect(serverAfter - serverBefore, "this process's buffers grew").toBeLessThan(
      32 * 1024 * 1024,
    );
  }, 60_000);

  it("settles `done` when the student kills the agent, and starts again", async () => {
    const r = await sh(
      "pkill -u student -x perl; sleep 0.5; docker version >/dev/null 2>&1 || echo down",
    );
    expect(r.stdout.trim(), r.output).toBe("down");
    expect(await settlesWithin(relay!.done, 10_000), "done settled").toBe(true);
    relay = await startRelay();
    const again = await sh("docker version --format ok");
    expect(again.stdout.trim(), again.output).toBe("ok");
  });

  it("ends on garbage the student writes into the agent's output, with a log line and bounded memory", async () => {
    // The student can open their own process's stdout pipe: a channel opened, then a header
    // announcing a 4 GiB frame on it, then 30 MB the server must not wait for, nor keep.
    const before = process.memoryUsage().arrayBuffers;
    logged.length = 0;
    const r = await sh(
      "pid=$(pgrep -n -u student -x perl) && printf '\\001\\000\\000\\000\\001\\000\\000\\000\\000\\001\\000\\000\\000\\002\\377\\377\\377\\377' > /proc/$pid/fd/1 && (timeout 5 head -c 30000000 /dev/zero > /proc/$pid/fd/1 || true) && echo written",
    );
    expect(r.stdout.trim(), r.output).toBe("written");
    expect(await settlesWithin(relay!.done, 10_000), "done settled").toBe(true);
    expect(logged.join("")).toContain(
      "malformed frame from the workstation's agent: DATA of 4294967295 bytes",
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);

    // Well-formed frames that break the flow control end it too: credit beyond the window.
    relay = await startRelay();
    logged.length = 0;
    const flood = await sh(
      "pid=$(pgrep -n -u student -x perl) && printf '\\002\\000\\000\\000\\001\\000\\000\\000\\000\\002\\000\\000\\000\\005\\000\\000\\000\\004\\000\\000\\000\\001' > /proc/$pid/fd/1 && echo written",
    );
    expect(flood.stdout.trim(), flood.output).toBe("written");
    expect(await settlesWithin(relay.done, 10_000), "done settled").toBe(true);
    expect(logged.join("")).toContain("credit above the window on channel 33554432");

    // And the server is still fine: a new relay serves the student.
    relay = await startRelay();
    const again = await sh("docker version --format ok");
    expect(again.stdout.trim(), again.output).toBe("ok");
  }, 60_000);

  it("is started again by keepSocketRelay after the student kills the agent", async () => {
    relay?.close();
    relay = undefined;
    const kept = keepSocketRelay(options());
    try {
      expect(await kept.ready).toBe(true);
      await sh("pkill -u student -x perl");
      // Back within the first retry (0.5 s) and the agent's start.
      const r = await sh(
        "for i in $(seq 50); do docker ps -q >/dev/null 2>&1 && echo ok && exit 0; sleep 0.2; done; echo never",
      );
      expect(r.stdout.trim(), r.output).toBe("ok");
      expect(logged.join("")).toContain("socket relay ended");
    } finally {
      kept.close();
    }
    // Closed, the agent sees its stdin end and exits: no agent outlives the server's relay.
    const left = await sh(
      "for i in $(seq 50); do pgrep -u student -x perl >/dev/null || { echo gone; exit 0; }; sleep 0.1; done; ps -o pid,args -u student",
    );
    expect(left.stdout.trim(), left.output).toBe("gone");
  });
});
