/**
 * What the socket relay costs (docs/decisions/engines.md, "The docker socket of a remote
 * workstation"): one test server, one session; its real workstation reaches the proxy through
 * the bind-mounted socket, a second workstation (tools/relay-workstation.ts) through the relay.
 * Both talk to the same proxy and engine, so the difference is the relay.
 *   node tools/measure-socket-relay.ts [rounds=30]
 */
import type { Duplex } from "node:stream";
import pino from "pino";
import { ApiClient, startTestServer } from "./sandbox-server.ts";
import { createRelayWorkstation, relayOptions } from "./relay-workstation.ts";
import { percentile } from "./percentile.ts";
import { runInWorkstation } from "../sandbox/sessions/workstation-exec.ts";
import { startSocketRelay } from "../sandbox/sessions/socket-relay.ts";
import type { Logger } from "../sandbox/log.ts";

const rounds = Number(process.argv[2] ?? 30);
const server = await startTestServer();
try {
  const sessionId = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
  const bindId = server.sessions.get(sessionId)!.workstationId!;
  const relayId = await createRelayWorkstation(server, sessionId);
  const relay = await startSocketRelay(
    relayOptions(server, sessionId, relayId, pino({ level: "warn" }) as unknown as Logger),
  );
  const docker = server.engine.docker;
  const sh = (id: string, script: string) =>
    runInWorkstation(docker, id, script, { timeoutMs: 300_000 });
  await sh(bindId, "docker run -d --name box busybox sleep 3600 >/dev/null");

  /** Milliseconds of each run of `command`, timed inside the workstation. */
  const timed = async (id: string, command: string) => {
    const r = await sh(
      id,
      `for i in $(seq ${rounds}); do s=$(date +%s%N); ${command} >/dev/null || exit 1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done`,
    );
    if (r.exitCode !== 0) throw new Error(r.output);
    return r.stdout
      .trim()
      .split("\n")
      .map(Number)
      .map((us) => us / 1000);
  };

  /** Keystroke to echo through `docker exec -it box cat`, the CLI in a TTY exec of the workstation. */
  const echoes = async (id: string) => {
    const exec = await docker.getContainer(id).exec({
      // No echo but cat's: the workstation's terminal and box's are both -echo.
      Cmd: ["sh", "-c", "stty -echo; exec docker exec -it box sh -c 'stty raw -echo; exec cat'"],
      AttachStdin: true,
      AttachStdout: true,
      Tty: true,
      User: "1000:1000",
      Env: ["HOME=/home/student", "TERM=xterm"],
    });
    const stream = (await exec.start({
      hijack: true,
      stdin: true,
      Tty: true,
    })) as unknown as Duplex;
    let seen = "";
    let waiting: (() => void) | undefined;
    stream.on("data", (chunk: Buffer) => {
      seen += chunk.toString("latin1");
      waiting?.();
    });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the CLI attaches
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const key = String.fromCharCode(97 + (i % 26));
      seen = "";
      const start = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        waiting = () => seen.includes(key) && resolve();
        stream.write(key);
      });
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    stream.write("\x03\x04");
    stream.destroy();
    return times;
  };

  const row = (what: string, bind: number[], viaRelay: number[]) =>
    console.log(
      `${what.padEnd(44)} bind p50 ${percentile(bind, 50).toFixed(1).padStart(6)} ms p90 ${percentile(bind, 90).toFixed(1).padStart(6)} ms | relay p50 ${percentile(viaRelay, 50).toFixed(1).padStart(6)} ms p90 ${percentile(viaRelay, 90).toFixed(1).padStart(6)} ms`,
    );
  const ping = "curl -sf --unix-socket /run/stowage/docker.sock http://docker/_ping";
  row("curl /_ping (one connection each)", await timed(bindId, ping), await timed(relayId, ping));
  const version = "docker version";
  row(
    "docker version (CLI start included)",
    await timed(bindId, version),
    await timed(relayId, version),
  );
  row("keystroke echo, docker exec -it box cat", await echoes(bindId), await echoes(relayId));
  const big = "head -c 20000000 /dev/urandom > /tmp/m && docker cp -q /tmp/m box:/m && rm /tmp/m";
  const copy = async (id: string) => {
    const r = await sh(
      id,
      `s=$(date +%s%N); ${big}; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
    );
    return Number(r.stdout.trim());
  };
  console.log(
    `docker cp of 20 MB up: bind ${await copy(bindId)} ms, relay ${await copy(relayId)} ms`,
  );
  relay.close();
  await docker.getContainer(relayId).remove({ force: true });
} finally {
  await server.close();
}
