/**
 * A remote engine's transport: a private Engine 26 this file starts (scripts/test-engine.sh 26t)
 * that listens on tcp://127.0.0.1 with --tlsverify, reached only by TCP with the client
 * certificates the script made (`tls=<dir>`). The server's own client (probe, version), the
 * proxy's raw requests and its upgraded streams (attach, exec) all work over TLS; a client set
 * from another CA, a client certificate the engine does not trust and plain TCP are each refused
 * with a message naming the engine and what is wrong. The engine is stopped at the end, and
 * nothing of it is left on the host (interfaces, iptables rules, containers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import {
  askEngineVersion,
  engineFrom,
  OLDEST_API_VERSION,
  probeEngine,
  rawEngineRequest,
  settleApiVersion,
  type Engine,
} from "../../sandbox/docker/engine.ts";
import { parseEngineAddress } from "../../sandbox/naming/engine-addresses.ts";
import { bridgeName } from "../../sandbox/naming/scope.ts";
import { engineJson, engineRequest, readAll } from "../../sandbox/proxy/engine-http.ts";
import {
  dockerThrough,
  standaloneProxy,
  startTlsEngine,
  stopTlsEngine,
  type StandaloneProxy,
  type TlsEngine,
} from "../../tools/tls-engine.ts";

const run = promisify(execFile);
let tlsEngine: TlsEngine;
let engine: Engine;
let proxy: StandaloneProxy | undefined;
let scratch: string;
let stopped = false;
/** The host interface of the session network the proxy test made (gone with the network). */
let sessionBridge = "";

/** An engine entry as an operator writes it in STOWAGE_ENGINES (name e26t, the test engine's range). */
function engineAt(query: string): Engine {
  const address = parseEngineAddress(`${tlsEngine.address}?name=e26t&${query}`, {
    name: "engine-2",
    subnets: tlsEngine.sessionSubnets,
  });
  return engineFrom(address, { concurrentStarts: 1 });
}

/** A CA of its own and a client certificate it signed, in `dir/ca-key.pem`, `dir/ca.pem`, `dir/cert.pem`, `dir/key.pem`. */
async function foreignClientSet(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "ext"), "extendedKeyUsage=clientAuth\n");
  // Each step's arguments, split on spaces (none has one inside).
  const steps = [
    "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem",
    "req -x509 -new -key ca-key.pem -days 2 -subj /CN=another-CA -out ca.pem",
    "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem",
    "req -new -key key.pem -subj /CN=stowage-tests -out c.csr",
    "x509 -req -in c.csr -CA ca.pem -CAkey ca-key.pem -days 2 -extfile ext -out cert.pem",
  ];
  for (const step of steps) await run("openssl", step.split(" "), { cwd: dir });
}

/** Every line of the host's iptables rules that names this engine's bridge or ranges. */
async function engineRules(): Promise<string[]> {
  const rules = (await run("iptables-save")).stdout.split("\n");
  return rules.filter((l) => /e26tbr0|10\.23[89]\.|10\.240\./.test(l));
}

async function interfaces(): Promise<string[]> {
  return (await run("ip", ["-o", "link", "show"])).stdout
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter(Boolean);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "engine-tls-"));
  tlsEngine = await startTlsEngine();
  engine = engineAt(`tls=${tlsEngine.tlsDir}`);
  // busybox copied engine to engine through this process: export from the default engine,
  // import over TLS (a long streamed request body on the TLS connection).
  await ensureImagesOnEngines(
    [
      { name: "default", docker: new Docker() },
      { name: "e26t", docker: engine.docker },
    ],
    { only: ["busybox"], progress: null },
  );
}, 600_000);

afterAll(async () => {
  await proxy?.close().catch(() => undefined);
  // This file's engine: stopped also when a test failed before the last one stopped it.
  if (!stopped && tlsEngine) await stopTlsEngine();
  await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe("an engine on tcp://127.0.0.1 with --tlsverify", () => {
  it("is reached by TCP with the client's TLS material, nothing else", () => {
    expect(tlsEngine.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(engine.httpTarget.socketPath).toBeUndefined();
    expect(engine.httpTarget.host).toBe("127.0.0.1");
    expect(engine.httpTarget.tls?.cert.toString()).toContain("BEGIN CERTIFICATE");
    expect(engine.remote).toBe(true);
  });

  it("answers probeEngine and settleApiVersion over TLS", async () => {
    const probe = await probeEngine(engine, 10_000);
    expect(probe).toMatchObject({ answers: true, usernsRemap: true });
    expect(probe.answers && probe.version).toMatch(/^26\./);
    // The unversioned /version, raw: what settles the API version.
    expect(await askEngineVersion(engine)).toMatchObject({
      ApiVersion: "1.45",
      Version: expect.stringMatching(/^26\./),
    });
    engine.apiVersion = "0.0";
    (engine.docker.modem as { version?: string }).version = "v0.0";
    await settleApiVersion(engine);
    expect(engine.apiVersion).toBe(OLDEST_API_VERSION);
    expect((engine.docker.modem as { version?: string }).version).toBe(`v${OLDEST_API_VERSION}`);
  });

  it("carries the proxy's raw requests over TLS, on kept-alive connections", async () => {
    const ping = () =>
      new Promise<string>((resolve, reject) => {
        const req = rawEngineRequest(
          engine,
          { method: "GET", path: "/_ping", headers: { host: "docker" } },
          (res) =>
            void readAll(res).then((b) =>
              resolve(`${res.statusCode} ${b.toString()} reused=${req.reusedSocket}`),
            ),
        );
        req.on("error", reject);
        req.end();
      });
    expect(await ping()).toMatch(/^200 OK reused=/);
    // The next one goes on the same TLS connection (no handshake per request).
    expect(await ping()).toBe("200 OK reused=true");
    const info = await engineJson<{ ServerVersion?: string; Name?: string }>(engine, {
      method: "GET",
      path: "/info",
    });
    expect(info.status).toBe(200);
    expect(info.body.ServerVersion).toMatch(/^26\./);
    const images = await engineRequest(engine, {
      method: "GET",
      path: "/images/json",
      query: new URLSearchParams({ filters: JSON.stringify({ reference: ["busybox"] }) }),
    });
    expect(images.statusCode).toBe(200);
    expect((await readAll(images)).toString()).toContain("busybox:latest");
  });

  it("runs a student's docker run, attached and with stdin, through a session's proxy over TLS", async () => {
    proxy = await standaloneProxy(engine, tlsEngine.sessionSubnets);
    sessionBridge = bridgeName(proxy.scope.sessionId);
    expect(await interfaces()).toContain(sessionBridge);
    const config = join(scratch, "cli");
    await mkdir(config, { recursive: true });
    const docker = dockerThrough(proxy.socketPath, config);
    expect((await docker(`"$DOCKER" run --rm busybox echo hi`)).stdout).toBe("hi\n");
    expect((await docker(`echo x | "$DOCKER" run -i --rm busybox cat`)).stdout).toBe("x\n");
    // exec's streams are upgraded too.
    await docker(`"$DOCKER" run -d --name tls-svc busybox sleep 120`);
    expect((await docker(`"$DOCKER" exec tls-svc echo inside`)).stdout).toBe("inside\n");
    expect((await docker(`echo y | "$DOCKER" exec -i tls-svc cat`)).stdout).toBe("y\n");
    // It ran on the TLS engine (under the session's name), not on the default one.
    const name = proxy.scope.engineName("tls-svc");
    const there = await engine.docker.getContainer(name).inspect();
    expect(there.State.Running).toBe(true);
    await expect(new Docker().getContainer(name).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    await docker(`"$DOCKER" rm -f tls-svc`);
    await expect(engine.docker.getContainer(name).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    await proxy.close();
    proxy = undefined;
  });

  it("refuses a client set from another CA, naming the engine and the CA file", async () => {
    const foreign = join(scratch, "foreign");
    await foreignClientSet(foreign);
    const probe = await probeEngine(engineAt(`tls=${foreign}`), 10_000);
    expect(probe.answers).toBe(false);
    expect(!probe.answers && probe.message).toBe(
      `the Docker engine e26t at ${tlsEngine.address.slice("tcp://".length)} does not answer: its certificate is not signed by the CA in ${foreign}/ca.pem (unable to verify the first certificate)`,
    );
    // The proxy's requests fail too, as an engine that does not answer.
    await expect(
      engineRequest(engineAt(`tls=${foreign}`), { method: "GET", path: "/_ping" }),
    ).rejects.toMatchObject({ engineDown: true });
  });

  it("is refused by the engine with a client certificate it does not trust, and says so", async () => {
    const stranger = join(scratch, "stranger");
    await foreignClientSet(join(scratch, "foreign2"));
    await mkdir(stranger);
    // The engine's own CA (so its certificate checks out), with another CA's client certificate.
    await writeFile(join(stranger, "ca.pem"), await readFile(join(tlsEngine.tlsDir, "ca.pem")));
    for (const f of ["cert.pem", "key.pem"])
      await writeFile(join(stranger, f), await readFile(join(scratch, "foreign2", f)));
    const probe = await probeEngine(engineAt(`tls=${stranger}`), 10_000);
    expect(probe.answers).toBe(false);
    expect(!probe.answers && probe.message).toMatch(
      new RegExp(
        `^the Docker engine e26t at 127\\.0\\.0\\.1:\\d+ does not answer: it refused the client certificate ${stranger}/cert\\.pem: .*\\(TLS alert: (unknown ca|bad certificate|certificate required)\\)$`,
      ),
    );
  });

  it("refuses an engine whose certificate is not made out to the entry's host", async () => {
    // Same engine, same CA, named localhost: its certificate names only IP 127.0.0.1.
    const address = parseEngineAddress(
      `${tlsEngine.address.replace("127.0.0.1", "localhost")}?name=e26t&tls=${tlsEngine.tlsDir}`,
      { name: "engine-2", subnets: tlsEngine.sessionSubnets },
    );
    const byName = engineFrom(address, { concurrentStarts: 1 });
    const probe = await probeEngine(byName, 10_000);
    expect(!probe.answers && probe.message).toMatch(
      /^the Docker engine e26t at localhost:\d+ does not answer: its certificate is not made out to localhost \(/,
    );
    // The proxy's own requests check the same: against the entry's host, not the Host header.
    await expect(engineRequest(byName, { method: "GET", path: "/_ping" })).rejects.toThrow(
      /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/,
    );
  });

  it("fails clearly over plain TCP, without TLS", async () => {
    const probe = await probeEngine(engineAt(""), 10_000);
    expect(probe.answers).toBe(false);
    expect(!probe.answers && probe.message).toMatch(
      /^the Docker engine e26t at 127\.0\.0\.1:\d+ does not answer: it speaks TLS at that port .*give the entry tls=/,
    );
  });

  it("leaves nothing on the host when stopped: no interfaces, iptables rules or listener", async () => {
    // What the tests made on it is gone already (the proxy removed its session's objects).
    const left = await engine.docker.listContainers({ all: true });
    expect(left.map((c) => c.Names)).toEqual([]);
    const networks = await engine.docker.listNetworks();
    expect(networks.map((n) => n.Name).sort()).toEqual(["bridge", "host", "none"]);
    expect(await interfaces()).toContain("e26tbr0");
    expect(sessionBridge).not.toBe("");
    expect(await interfaces()).not.toContain(sessionBridge);
    expect(await engineRules()).not.toEqual([]);
    await stopTlsEngine();
    stopped = true;
    expect(await interfaces()).not.toContain("e26tbr0");
    expect(await engineRules()).toEqual([]);
    expect((await probeEngine(engine, 5000)).answers).toBe(false);
    const port = tlsEngine.address.split(":").pop();
    expect((await run("ss", ["-Hltn", `sport = :${port}`])).stdout.trim()).toBe("");
  });
});
