/**
 * The bench's `remote` phase: what TCP with TLS costs against a unix socket, on one engine
 * (scripts/test-engine.sh 26t, which has both: its TLS port for the tests and its own socket for
 * the script). Same host, so it is the transport's cost (TCP + TLS), not a network's.
 */
import Docker from "dockerode";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  dockerThrough,
  standaloneProxy,
  startTlsEngine,
  stopTlsEngine,
  TLS_ENGINE_OWN_SOCKET,
} from "../../tools/tls-engine.ts";
import { percentile } from "../../tools/percentile.ts";
import { engineFrom, probeEngine, rawEngineRequest, type Engine } from "../docker/engine.ts";
import { ensureImagesOnEngines } from "../images/build.ts";
import { parseEngineAddress } from "../naming/engine-addresses.ts";

export interface TransportTimes {
  /** probeEngine: the unversioned GET /version, then docker version + docker info (ms). */
  probe: number[];
  /** A raw GET /_ping on a new connection, as each attach/exec upgrade opens one (ms). */
  ping: number[];
  /** `docker run --rm busybox true` by the CLI through a session's proxy (ms). */
  run: number[];
}

export interface RemoteResult {
  version: string;
  runs: number;
  unix: TransportTimes;
  tls: TransportTimes;
  /** Load average (1 min) at the start and the end. */
  load: [number, number];
}

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
};

function ping(engine: Engine): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = rawEngineRequest(
      engine,
      { agent: false, method: "GET", path: "/_ping", headers: { host: "docker" } },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`/_ping: ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** `runs` of each measure on each side, alternating which side goes first. Starts and stops 26t when it was not running. */
export async function measureRemoteTransport(
  runs: number,
  log: (line: string) => void,
  loadavg: () => number,
): Promise<RemoteResult> {
  const load0 = loadavg();
  log("Engine 26t (scripts/test-engine.sh 26t): its unix socket against its TLS port...");
  const started = await startTlsEngine();
  const scratch = await mkdtemp(join(tmpdir(), "bench-remote-"));
  const proxies: { close(): Promise<void> }[] = [];
  try {
    const tls = engineFrom(
      parseEngineAddress(`${started.address}?name=e26t&tls=${started.tlsDir}`, {
        name: "e26t",
        subnets: started.sessionSubnets,
      }),
      { concurrentStarts: 1 },
    );
    const unix = engineFrom(
      parseEngineAddress(`unix://${TLS_ENGINE_OWN_SOCKET}?name=e26t-unix`, {
        name: "e26t-unix",
        subnets: started.sessionSubnets,
      }),
      { concurrentStarts: 1 },
    );
    await ensureImagesOnEngines(
      [
        { name: "default", docker: new Docker() },
        { name: "e26t", docker: tls.docker },
      ],
      { only: ["busybox"], progress: null },
    );
    const sides = [
      { engine: unix, times: { probe: [], ping: [], run: [] } as TransportTimes },
      { engine: tls, times: { probe: [], ping: [], run: [] } as TransportTimes },
    ];
    const docker = new Map<Engine, ReturnType<typeof dockerThrough>>();
    for (const side of sides) {
      const proxy = await standaloneProxy(side.engine, started.sessionSubnets);
      proxies.push(proxy);
      docker.set(side.engine, dockerThrough(proxy.socketPath, scratch));
    }
    // Warm both (first connection, first container) before timing.
    for (const side of sides) {
      await probeEngine(side.engine, 10_000);
      await docker.get(side.engine)!(`"$DOCKER" run --rm busybox true`);
    }
    log(`  probeEngine, GET /_ping on a new connection, docker run --rm: ${runs} each per side`);
    for (let i = 0; i < runs; i++) {
      for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
        side.times.probe.push(
          await timed(async () => {
            const probe = await probeEngine(side.engine, 10_000);
            if (!probe.answers) throw new Error(probe.message);
          }),
        );
        side.times.ping.push(await timed(() => ping(side.engine)));
        side.times.run.push(
          await timed(() => docker.get(side.engine)!(`"$DOCKER" run --rm busybox true`)),
        );
      }
    }
    const version = await tls.docker.version();
    for (const side of sides)
      log(
        `  ${side.engine.name}: probe p50 ${percentile(side.times.probe, 50).toFixed(1)} ms, run p50 ${percentile(side.times.run, 50).toFixed(0)} ms`,
      );
    return {
      version: version.Version,
      runs,
      unix: sides[0]!.times,
      tls: sides[1]!.times,
      load: [load0, loadavg()],
    };
  } finally {
    for (const proxy of proxies) await proxy.close().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    if (started.startedHere) await stopTlsEngine();
  }
}

/** The report's section (docs/benchmarks.md), between its markers. */
export function remoteSection(
  r: RemoteResult | undefined,
  ms: (n: number) => string,
  note: string,
): string {
  const p5095 = (xs: number[]) => `${ms(percentile(xs, 50))} / ${ms(percentile(xs, 95))}`;
  const row = (measure: string, f: (t: TransportTimes) => number[]) =>
    r ? `| ${measure} | ${p5095(f(r.unix))} | ${p5095(f(r.tls))} |` : "";
  return `<!-- remote-bench: BENCH_ONLY=remote rewrites only this section -->
## A remote engine's transport: TCP with TLS against a unix socket (issue 14)

${
  r
    ? `Measured ${new Date().toISOString()}, ${r.runs} runs of each on each side, alternating which side goes first; load average (1 min) ${r.load[0].toFixed(1)} at the start, ${r.load[1].toFixed(1)} at the end${note}.

| measure, p50 / p95 | Engine ${r.version}, its unix socket | the same engine, tcp://127.0.0.1 with TLS |
|---|---|---|
${row("`probeEngine` round trip (unversioned GET /version, then `docker version` + `docker info`)", (t) => t.probe)}
${row("raw GET /_ping on a new connection (TCP + TLS handshake; each attach or exec upgrade opens one)", (t) => t.ping)}
${row("`docker run --rm busybox true` by the docker CLI 26 through a session's proxy", (t) => t.run)}

How: one engine, \`scripts/test-engine.sh 26t\` (Engine 26, \`--tlsverify\`, ECDSA P-256 certificates), reached
by its own unix socket and by its TLS port on 127.0.0.1 with the client set the script made (\`tls=<dir>\`). Both on
this host: the difference is what TCP and TLS cost, not a network's latency, which a real remote engine adds to
every request (a \`docker run --rm\` through the proxy is 18 engine requests, one of them the attach). The probe and
the proxy's requests go through the clients the server makes, which keep their connections; each attach or exec
upgrade opens a new one (one TLS handshake per \`docker run\`). Each side has its own session proxy
(sandbox/bench/remote.ts).`
    : "not measured"
}
<!-- /remote-bench -->
`;
}
