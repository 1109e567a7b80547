/**
 * What the server must do on a remote engine's host, where it has no shell and no files, only
 * the engine (docs/decisions/engines.md, "Remote engines"): make and remove the sessions'
 * cgroups (cgroupfs), add the firewall rule that keeps sandboxes off the host's ports (iptables)
 * and read the host's free memory (/proc/meminfo).
 *
 * One long-lived helper container per engine and server instance (`sleep infinity`), each
 * operation a `docker exec` in it: an exec costs a fraction of a container's create + start +
 * remove (figures in engines.md). It holds exactly what those operations need and nothing else:
 * the host's user namespace (a remapped root owns nothing in cgroupfs and has no say over the
 * host's netfilter), the host's network namespace (the firewall) and cgroup namespace with the
 * host's /sys/fs/cgroup (rw) as its only mount, CAP_NET_ADMIN (netfilter) and CAP_DAC_OVERRIDE
 * (the 0555 roots of the cgroup hierarchies) as its only capabilities, a read-only root,
 * no-new-privileges, small memory, CPU and pids limits.
 *
 * Students never see it: it carries the instance label but no session's owner label (every
 * student lookup filters on that), and its image is not one of theirs (images/catalog.ts
 * `internal`). The instance's own cleanup at start finds it by its instance label and removes
 * it with the previous run's objects; it is made again when next needed, and removed at a clean
 * stop (`remove`). Another instance's helper is never touched: all lookups go by name and label
 * of this instance.
 */
import type { Logger } from "../log.ts";
import { HOST_TOOLS_IMAGE } from "../images/catalog.ts";
import { LABEL_INSTANCE, LABEL_ROLE } from "../naming/scope.ts";
import type { Engine } from "./engine.ts";
import { runExec } from "./exec-run.ts";

/** `stowage.role` of a host helper container. */
export const HOST_HELPER_ROLE = "host-helper";
const MiB = 1024 * 1024;

/** The helper's container name on an engine (no student name maps to it: theirs all start `stw-`). */
export function hostHelperName(instance: string): string {
  return `stowage-host-helper-${instance}`;
}

export interface HostHelperOptions {
  /**
   * The network namespace its commands act in: the host's (what the firewall needs), or "none"
   * for a namespace of its own (the tests, which must not add rules to the shared host freely).
   */
  network?: "host" | "none";
  /** The image (default stowage/host-tools). */
  image?: string;
}

export interface HostCommandResult {
  stdout: string;
  stderr: string;
}

/** A command in the helper that failed, with what it said. */
export class HostCommandError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, stderr: string) {
    super(
      `${command} on the engine's host ${exitCode === null ? "did not finish" : `exited ${exitCode}`}: ${stderr.trim() || "(no message)"}`,
    );
    this.name = "HostCommandError";
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs commands on an engine's host (only what its container allows); see the file's comment. */
export interface HostCommands {
  /** Runs `argv` in the helper; resolves with its output when it exits 0, else throws HostCommandError. */
  run(argv: readonly string[], options?: { timeoutMs?: number }): Promise<HostCommandResult>;
}

export class HostHelper implements HostCommands {
  readonly engine: Engine;
  readonly instance: string;
  readonly name: string;
  private readonly log: Logger | undefined;
  private readonly options: Required<HostHelperOptions>;
  private ready: Promise<string> | undefined;
  private removed = false;
  /** Commands run so far (the tests see whether a path went through the helper). */
  execCount = 0;
  /** Helper containers this object made (the tests see that a start makes one, not two). */
  madeCount = 0;

  constructor(engine: Engine, instance: string, log?: Logger, options: HostHelperOptions = {}) {
    this.engine = engine;
    this.instance = instance;
    this.log = log;
    this.options = { network: options.network ?? "host", image: options.image ?? HOST_TOOLS_IMAGE };
    this.name =
      this.options.network === "host" ? hostHelperName(instance) : `${hostHelperName(instance)}-ns`;
  }

  async run(
    argv: readonly string[],
    options: { timeoutMs?: number } = {},
  ): Promise<HostCommandResult> {
    try {
      return await this.runOnce(await this.container(), argv, options.timeoutMs ?? 15_000);
    } catch (error) {
      // The helper went away (the instance's cleanup at start, an operator, an engine restart):
      // made again once, and the command run in the new one.
      if (!isGone(error)) throw error;
      this.ready = undefined;
      return this.runOnce(await this.container(), argv, options.timeoutMs ?? 15_000);
    }
  }

  /** The host's MemAvailable in bytes, or undefined when it says none. */
  async memAvailableBytes(): Promise<number | undefined> {
    // Placement may wait for the first reading: a short bound.
    return parseMemAvailable(
      (await this.run(["cat", "/proc/meminfo"], { timeoutMs: 5000 })).stdout,
    );
  }

  /**
   * The container this run made or found running (undefined before the first command): the
   * start's cleanup of the instance's objects keeps it rather than remove the helper it just made.
   */
  async currentId(): Promise<string | undefined> {
    return this.ready?.catch(() => undefined);
  }

  /** Removes this instance's helper from the engine (the server's clean stop); none is made after. */
  async remove(): Promise<void> {
    this.removed = true;
    const pending = this.ready;
    this.ready = undefined;
    await pending?.catch(() => undefined);
    const found = await this.engine.docker
      .listContainers({
        all: true,
        filters: {
          name: [`^/${this.name}$`],
          label: [`${LABEL_INSTANCE}=${this.instance}`, `${LABEL_ROLE}=${HOST_HELPER_ROLE}`],
        },
      })
      .catch(() => []);
    await Promise.all(
      found.map((c) =>
        this.engine.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }

  /** The running helper's id: found, started, or made. */
  private container(): Promise<string> {
    if (this.removed)
      return Promise.reject(new Error(`the host helper on engine ${this.engine.name} was removed`));
    this.ready ??= this.ensure().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async ensure(): Promise<string> {
    const docker = this.engine.docker;
    const existing = await docker
      .getContainer(this.name)
      .inspect()
      .catch(() => undefined);
    if (existing) {
      const ours =
        existing.Config.Labels?.[LABEL_INSTANCE] === this.instance &&
        existing.Config.Labels[LABEL_ROLE] === HOST_HELPER_ROLE;
      if (!ours)
        throw new Error(
          `a container named ${this.name} on engine ${this.engine.name} is not this server's host helper; remove it`,
        );
      // A previous run's helper is used while it runs the image this server has (a deploy that
      // changed stowage/host-tools gets a new one).
      const image = await docker
        .getImage(this.options.image)
        .inspect()
        .catch(() => undefined);
      if (existing.State.Running && existing.Image === image?.Id) return existing.Id;
      await docker
        .getContainer(existing.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    const started = Date.now();
    let container;
    try {
      container = await docker.createContainer(
        hostHelperContainer(this.name, this.instance, this.options),
      );
    } catch (error) {
      // Made meanwhile by this server's other call path: use that one.
      if ((error as { statusCode?: number }).statusCode === 409) return this.ensure();
      if ((error as { statusCode?: number }).statusCode === 404)
        throw new Error(
          `engine ${this.engine.name} lacks ${this.options.image} (the course images are copied to every engine at start: node sandbox/images/build.ts)`,
        );
      throw error;
    }
    await container.start();
    this.madeCount++;
    this.log?.info(
      { engine: this.engine.name, ms: Date.now() - started },
      "host helper container started on the engine",
    );
    return container.id;
  }

  private async runOnce(
    containerId: string,
    argv: readonly string[],
    timeoutMs: number,
  ): Promise<HostCommandResult> {
    this.execCount++;
    const { exitCode, stdout, stderr } = await runExec(
      this.engine.docker,
      containerId,
      { Cmd: [...argv], Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"] },
      { timeoutMs },
    );
    if (exitCode !== 0) throw new HostCommandError(argv[0] ?? "", exitCode, stderr);
    return { stdout, stderr };
  }
}

/** The helper's container: exactly what its commands need (see the file's comment). */
export function hostHelperContainer(
  name: string,
  instance: string,
  options: Required<HostHelperOptions>,
) {
  return {
    name,
    Image: options.image,
    Cmd: ["sleep", "infinity"],
    Labels: { [LABEL_INSTANCE]: instance, [LABEL_ROLE]: HOST_HELPER_ROLE },
    HostConfig: {
      // The engine runs userns-remap: a remapped root could write neither cgroupfs nor netfilter.
      UsernsMode: "host",
      NetworkMode: options.network,
      CgroupnsMode: "host",
      Binds: ["/sys/fs/cgroup:/sys/fs/cgroup:rw"],
      CapDrop: ["ALL"],
      // NET_ADMIN: iptables-nft talks netlink (iptables-legacy would need NET_RAW and a writable
      // /run/xtables.lock too). DAC_OVERRIDE: each cgroup hierarchy's root is 0555, so making
      // the shared /stowage group there needs it (below that, the groups are root's own, 0755).
      CapAdd: ["NET_ADMIN", "DAC_OVERRIDE"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Memory: 64 * MiB,
      MemorySwap: 64 * MiB,
      PidsLimit: 32,
      NanoCpus: 500_000_000,
      LogConfig: { Type: "none", Config: {} },
      RestartPolicy: { Name: "" },
    },
  };
}

/** MemAvailable of a /proc/meminfo text, in bytes. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
  return kib ? Number(kib) * 1024 : undefined;
}

/** The engine's answer when the helper container is gone or stopped. */
function isGone(error: unknown): boolean {
  const status = (error as { statusCode?: number }).statusCode;
  return status === 404 || status === 409;
}
