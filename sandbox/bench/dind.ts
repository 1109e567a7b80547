/**
 * The docker-in-docker baseline: an engine per student in a container (Debian's docker.io,
 * recipe in ./dind/), run with every capability the engine can give instead of --privileged.
 * Measured: `docker run` to a working `docker version` inside, then to the course images loaded
 * (`docker save … | docker exec -i … docker load`), and its host memory once idle.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { containerMemory, type ContainerMemory } from "./memory.ts";

const run = promisify(execFile);
const RECIPE = join(import.meta.dirname, "dind");
export const DIND_IMAGE = "stowage-bench/dind:latest";
const HASH_LABEL = "stowage-bench.recipe-hash";
/** The label on every container the bench makes, valued with this run's id (cleanup). */
export const BENCH_LABEL = "stowage-bench.run";
export const COURSE_IMAGES_TO_LOAD = [
  "busybox",
  "debian:bookworm-slim",
  "postgres:15",
  "nginx",
  "stowage/notes",
];

/**
 * How the dind instance runs: no --privileged, but everything an engine needs. `ALL` is every
 * capability the engine has since Engine 23; this host withholds SYS_RESOURCE (docs/hardening.md,
 * the OOM order), which Engine 20.10 passed on and runc refused, so it is dropped there by hand
 * (dindRunFlags) — and Engine 26 refuses dropping a capability it does not have.
 */
export const DIND_RUN_FLAGS = [
  "--cap-add",
  "ALL",
  "--security-opt",
  "seccomp=unconfined", // unshare/mount/keyctl for the inner engine's containers
  "--userns=host", // the outer engine remaps users; the inner one must own its files and make namespaces
  "--cgroupns=host",
  // /var/lib/docker is an anonymous volume (VOLUME in the Dockerfile): nested overlayfs does not work.
];

const log = (line: string) => process.stderr.write(`${line}\n`);

async function dindRunFlags(): Promise<string[]> {
  const { stdout } = await run("docker", ["version", "--format", "{{.Server.Version}}"]);
  const major = Number(stdout.trim().split(".")[0]);
  return major < 23 ? [...DIND_RUN_FLAGS, "--cap-drop", "SYS_RESOURCE"] : DIND_RUN_FLAGS;
}

async function recipeHash(): Promise<string> {
  const hash = createHash("sha256");
  for (const file of (await readdir(RECIPE)).sort())
    hash.update(`${file}\0`).update(await readFile(join(RECIPE, file)));
  const { stdout: base } = await run("docker", [
    "image",
    "inspect",
    "--format",
    "{{.Id}}",
    "debian:bookworm-slim",
  ]);
  hash.update(base.trim());
  return hash.digest("hex").slice(0, 32);
}

/** Builds the dind image unless one built from this recipe (and base image) exists. */
export async function ensureDindImage(): Promise<void> {
  const hash = await recipeHash();
  const current = await run("docker", [
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${HASH_LABEL}"}}`,
    DIND_IMAGE,
  ]).then(
    (r) => r.stdout.trim(),
    () => "",
  );
  if (current === hash) return;
  log(
    `building ${DIND_IMAGE} from sandbox/bench/dind (apt-get install docker.io; needs Debian's archive)...`,
  );
  await run("docker", ["build", "--label", `${HASH_LABEL}=${hash}`, "-t", DIND_IMAGE, RECIPE], {
    timeout: 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface DindRun {
  versionMs: number;
  loadedMs: number;
  /** `docker run --rm busybox true` inside works (the instance is a usable engine). */
  innerRunOk: boolean;
  memory: ContainerMemory;
}

async function poll<T>(attempt: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`${what} within ${timeoutMs} ms: ${(last as Error)?.message ?? "no answer"}`);
}

/** save | exec -i load, both processes bounded. */
function loadImages(name: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const save = spawn("docker", ["save", ...COURSE_IMAGES_TO_LOAD], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const load = spawn("docker", ["exec", "-i", name, "docker", "load", "-q"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    save.stdout.pipe(load.stdin);
    let errors = "";
    save.stderr.on("data", (d) => (errors += d));
    load.stderr.on("data", (d) => (errors += d));
    const timer = setTimeout(() => {
      save.kill();
      load.kill();
      reject(new Error(`image load took over ${timeoutMs} ms`));
    }, timeoutMs);
    let saved: number | null | undefined;
    save.on("exit", (code) => (saved = code));
    load.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0 && saved === 0) resolve();
      else
        reject(
          new Error(`docker save | docker load failed (${saved}, ${code}): ${errors.slice(-500)}`),
        );
    });
  });
}

/** One instance: started, timed, measured, removed (with its volume), whatever happens. */
export async function dindOnce(runId: string, settleMs: number): Promise<DindRun> {
  const name = `stowage-bench-dind-${randomBytes(4).toString("hex")}`;
  const started = performance.now();
  try {
    await run(
      "docker",
      [
        "run",
        "-d",
        "--name",
        name,
        "--label",
        `${BENCH_LABEL}=${runId}`,
        ...(await dindRunFlags()),
        DIND_IMAGE,
      ],
      { timeout: 60_000 },
    );
    await poll(
      () =>
        run("docker", ["exec", name, "docker", "version", "--format", "{{.Server.Version}}"], {
          timeout: 10_000,
        }),
      60_000,
      "no working `docker version` in the dind instance",
    );
    const versionMs = performance.now() - started;
    await loadImages(name, 5 * 60_000);
    const loadedMs = performance.now() - started;
    const innerRunOk = await run(
      "docker",
      ["exec", name, "docker", "run", "--rm", "busybox", "true"],
      { timeout: 60_000 },
    ).then(
      () => true,
      () => false,
    );
    await new Promise((r) => setTimeout(r, settleMs));
    const { stdout: id } = await run("docker", ["inspect", "--format", "{{.Id}}", name]);
    const memory = await containerMemory(id.trim());
    return { versionMs, loadedMs, innerRunOk, memory };
  } finally {
    await run("docker", ["rm", "-f", "-v", name], { timeout: 60_000 }).catch(() => undefined);
  }
}

/** Removes whatever this run left (a crash between run and rm). */
export async function removeDindLeftovers(runId: string): Promise<void> {
  const { stdout } = await run("docker", [
    "ps",
    "-aq",
    "--filter",
    `label=${BENCH_LABEL}=${runId}`,
  ]).catch(() => ({ stdout: "" }));
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length)
    await run("docker", ["rm", "-f", "-v", ...ids], { timeout: 60_000 }).catch(() => undefined);
}
