/**
 * The attack suite's world: one real server, two live sessions on the real engine.
 * - the VICTIM has a running container with a volume holding a secret, a spare volume, a stopped
 *   container, a network and an exec instance;
 * - the ATTACKER sends hostile requests, through its own docker CLI (studentShell) and as raw
 *   HTTP / raw bytes on its proxy socket.
 * `attack()` wraps a test: it snapshots the engine objects of the attacker's session before, and
 * after the attack asserts that nothing was created, the victim's objects are untouched, and no
 * answer showed the victim's names, IDs, secret or a real host path it was not sent.
 */
import { connect } from "node:net";
import { request } from "node:http";
import { randomBytes } from "node:crypto";
import { chmod, readFile, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

export type Server = Awaited<ReturnType<typeof startTestServer>>;

export interface Answer {
  status: number;
  text: string;
  json: any;
}

export interface Snapshot {
  containers: string[];
  volumes: string[];
  networks: string[];
}

export class World {
  server!: Server;
  attacker!: string;
  victim!: string;
  attackerCookie = "";
  victimCookie = "";
  readonly tag = randomBytes(3).toString("hex");
  readonly secret = `s3cret-${randomBytes(6).toString("hex")}`;
  victimContainerId = "";
  victimStoppedId = "";
  victimExecId = "";
  victimNetworkId = "";
  victimVolumeMountpoint = "";
  engineRootDir = "";
  /** A host folder outside every sandbox: attacks try to write into it. */
  canary = "";
  /** Every exchange of the current attack: [what was sent, what came back]. */
  exchanges: [string, string][] = [];

  get names() {
    return {
      vault: `vault-${this.tag}`,
      secretVol: `secret-vol-${this.tag}`,
      spareVol: `spare-${this.tag}`,
      stopped: `stopped-${this.tag}`,
      net: `vnet-${this.tag}`,
    };
  }

  async start(): Promise<void> {
    this.server = await startTestServer();
    const a = new ApiClient(this.server.url);
    const v = new ApiClient(this.server.url);
    this.attacker = (await a.call("POST", "/api/sessions")).body.id;
    this.victim = (await v.call("POST", "/api/sessions")).body.id;
    this.attackerCookie = a.cookie;
    this.victimCookie = v.cookie;
    const n = this.names;
    const r = await studentShell(
      this.server,
      this.victim,
      [
        `docker volume create ${n.secretVol} >/dev/null`,
        `docker volume create ${n.spareVol} >/dev/null`,
        `docker network create ${n.net} >/dev/null`,
        `docker create --name ${n.stopped} busybox true >/dev/null`,
        `docker run -d --name ${n.vault} -v ${n.secretVol}:/data busybox sh -c 'echo ${this.secret} > /data/secret; echo ${this.secret}; sleep 3600'`,
      ].join(" && "),
      60_000,
    );
    if (r.exitCode !== 0) throw new Error(`victim setup failed: ${r.output}`);
    this.victimContainerId = r.stdout.trim().split("\n").pop()!;
    const exec = await this.http(this.victim, "POST", `/v1.41/containers/${n.vault}/exec`, {
      body: { Cmd: ["cat", "/data/secret"], AttachStdout: true },
    });
    if (exec.status !== 201) throw new Error(`victim exec failed: ${exec.text}`);
    this.victimExecId = exec.json.Id;
    const docker = this.server.engine.docker;
    this.victimStoppedId = (
      await docker.getContainer(`stw-${this.victim}-${n.stopped}`).inspect()
    ).Id;
    this.victimNetworkId = (await docker.getNetwork(`stw-${this.victim}-${n.net}`).inspect()).Id;
    this.victimVolumeMountpoint = (
      await docker.getVolume(`stw-${this.victim}-${n.secretVol}`).inspect()
    ).Mountpoint;
    // `docker run -d` returns once the container started, maybe before its shell wrote the
    // secret: wait for it, or the first attack's intactness check races the victim's own setup.
    const secretFile = join(this.victimVolumeMountpoint, "secret");
    for (let tries = 0; ; tries++) {
      const text = await readFile(secretFile, "utf8").catch(() => "");
      if (text.trim() === this.secret) break;
      if (tries >= 300) throw new Error(`victim setup: no secret in ${secretFile} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.engineRootDir = ((await docker.info()) as { DockerRootDir: string }).DockerRootDir;
    this.canary = `/tmp/stowage-canary-${this.tag}`;
    await mkdir(this.canary, { recursive: true });
    await chmod(this.canary, 0o777); // writable by anyone: a container that reaches it could write

    this.exchanges = [];
  }

  async stop(): Promise<void> {
    await rm(this.canary, { recursive: true, force: true }).catch(() => undefined);
    await this.server?.close();
  }

  socketOf(session: string): string {
    return this.server.sessions.get(session)!.scope.proxySocketPath;
  }

  /** One request on a session's proxy socket, through node:http (decodes chunked answers). */
  http(
    session: string,
    method: string,
    path: string,
    options: {
      body?: unknown;
      raw?: string | Buffer;
      headers?: Record<string, string>;
      timeoutMs?: number;
    } = {},
  ): Promise<Answer> {
    const body =
      options.raw !== undefined
        ? options.raw
        : options.body !== undefined
          ? JSON.stringify(options.body)
          : undefined;
    const headers: Record<string, string | number> = {
      ...(body !== undefined
        ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
        : {}),
      ...options.headers,
    };
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketOf(session),
          method,
          path,
          headers,
          timeout: options.timeoutMs ?? 20_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            this.exchanges.push([
              `${method} ${path} ${body ?? ""} ${JSON.stringify(options.headers ?? {})}`,
              text,
            ]);
            resolve({ status: res.statusCode ?? 0, text, json });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer to ${method} ${path}`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Raw bytes on a session's proxy socket; everything read until the peer closes or goes quiet. */
  raw(
    session: string,
    bytes: string | Buffer | (string | Buffer)[],
    options: { quietMs?: number; totalMs?: number; gapMs?: number } = {},
  ): Promise<{ text: string; status: number; statuses: number[] }> {
    const parts = Array.isArray(bytes) ? bytes : [bytes];
    return new Promise((resolve) => {
      const socket = connect(this.socketOf(session));
      const chunks: Buffer[] = [];
      let quiet: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(quiet);
        clearTimeout(total);
        socket.destroy();
        const text = Buffer.concat(chunks).toString("latin1");
        const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
        this.exchanges.push([parts.map(String).join(""), text]);
        resolve({ text, status: statuses[0] ?? 0, statuses });
      };
      const arm = () => {
        clearTimeout(quiet);
        quiet = setTimeout(done, options.quietMs ?? 1500);
      };
      const total = setTimeout(done, options.totalMs ?? 15_000);
      socket.on("data", (c: Buffer) => {
        chunks.push(c);
        arm();
      });
      socket.on("close", done);
      socket.on("error", () => undefined);
      socket.on("connect", async () => {
        for (const [i, part] of parts.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, options.gapMs ?? 200));
          if (!socket.destroyed) socket.write(part);
        }
        arm();
      });
    });
  }

  /** The attacker's own docker CLI in its workstation. */
  async sh(
    script: string,
    timeoutMs = 30_000,
  ): Promise<{ exitCode: number | null; output: string; stdout: string }> {
    const r = await studentShell(this.server, this.attacker, script, timeoutMs);
    this.exchanges.push([script, r.output]);
    return r;
  }

  async snapshot(session = this.attacker): Promise<Snapshot> {
    const docker = this.server.engine.docker;
    const filters = { label: [`stowage.session=${session}`] };
    const [containers, volumes, networks] = await Promise.all([
      docker.listContainers({ all: true, filters }),
      docker.listVolumes({ filters }),
      docker.listNetworks({ filters }),
    ]);
    return {
      containers: containers.map((c) => c.Id).sort(),
      volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
      networks: networks.map((n) => n.Id).sort(),
    };
  }

  /** The victim's objects all exist, unchanged; the secret is still in its volume. */
  async expectVictimIntact(): Promise<void> {
    const docker = this.server.engine.docker;
    const vault = await docker.getContainer(this.victimContainerId).inspect();
    expect(vault.State.Running, "victim container still running").toBe(true);
    expect(vault.State.Paused, "victim container not paused").toBe(false);
    expect(vault.Name).toBe(`/stw-${this.victim}-${this.names.vault}`);
    expect(vault.RestartCount).toBe(0);
    await docker.getContainer(this.victimStoppedId).inspect();
    await docker.getNetwork(this.victimNetworkId).inspect();
    for (const v of [this.names.secretVol, this.names.spareVol])
      await docker.getVolume(`stw-${this.victim}-${v}`).inspect();
    expect((await readFile(join(this.victimVolumeMountpoint, "secret"), "utf8")).trim()).toBe(
      this.secret,
    );
    const exec = await docker.getExec(this.victimExecId).inspect();
    expect(exec.Running).toBe(false);
    expect(exec.ProcessConfig.entrypoint).toBe("cat");
  }

  /** Strings the attacker must never read unless it sent them itself. */
  private forbidden(): string[] {
    return [
      this.victim,
      this.secret,
      this.victimContainerId,
      this.victimContainerId.slice(0, 12),
      this.victimStoppedId.slice(0, 12),
      this.victimExecId,
      this.victimNetworkId.slice(0, 12),
      ...Object.values(this.names),
      this.server.dataDir,
      this.server.config.dataDir,
      this.engineRootDir,
    ].filter((s) => s && s !== "/var/lib/docker");
  }

  expectNoLeaks(): void {
    for (const [sent, answer] of this.exchanges) {
      for (const word of this.forbidden()) {
        if (sent.includes(word)) continue;
        expect(
          answer.includes(word),
          `the answer to ${sent.slice(0, 200)} shows ${word}:\n${answer.slice(0, 2000)}`,
        ).toBe(false);
      }
    }
  }

  async canaryFiles(): Promise<string[]> {
    return readdir(this.canary).catch(() => []);
  }
}

export interface AttackOptions {
  /** The attack may create objects of the attacker's own (it is bounded, not refused). */
  mayCreate?: boolean;
  timeoutMs?: number;
}

/** One attack: run it, then prove nothing happened. */
export function attack(
  world: World,
  name: string,
  run: () => Promise<void>,
  options: AttackOptions = {},
): void {
  it(
    name,
    async () => {
      const before = await world.snapshot();
      world.exchanges = [];
      await run();
      if (!options.mayCreate) {
        const after = await world.snapshot();
        // Objects the attack made and removed again are not counted; none may remain.
        expect(
          after.containers.filter((c) => !before.containers.includes(c)),
          "no container created",
        ).toEqual([]);
        expect(
          after.volumes.filter((v) => !before.volumes.includes(v)),
          "no volume created",
        ).toEqual([]);
        expect(
          after.networks.filter((n) => !before.networks.includes(n)),
          "no network created",
        ).toEqual([]);
      }
      expect(await world.canaryFiles(), "nothing written on the host").toEqual([]);
      await world.expectVictimIntact();
      world.expectNoLeaks();
    },
    options.timeoutMs ?? 60_000,
  );
}

/** `POST /containers/create` with a body, as raw HTTP. */
export function create(world: World, body: unknown, name?: string): Promise<Answer> {
  return world.http(
    world.attacker,
    "POST",
    `/v1.41/containers/create${name ? `?name=${name}` : ""}`,
    typeof body === "string" ? { raw: body } : { body },
  );
}

/** A minimal raw HTTP/1.1 request. */
export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
  body = "",
): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    "Host: docker",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}
