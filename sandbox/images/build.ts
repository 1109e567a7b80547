/**
 * Builds the course images (sandbox/images/catalog.ts) on the Docker engine, offline, from the
 * recipes in sandbox/images/recipes/<recipe>/:
 *   - a recipe with a `rootfs.sh` (busybox, debian) first makes `rootfs.tar` on this host (as
 *     root: busybox-static / debootstrap), then its Dockerfile does `FROM scratch` + `ADD rootfs.tar /`;
 *   - the others are ordinary Dockerfiles `FROM` an image built before them.
 * Each image carries the label `stowage.recipe-hash` (hash of its recipe folder and of the images
 * it is built FROM): an image whose label matches is not rebuilt.
 *
 *   node sandbox/images/build.ts [--force] [--no-cache] [--pull] [image ...]
 *
 * STOWAGE_IMAGE_SOURCE=pull (or --pull) pulls the official busybox, debian, postgres and nginx
 * instead of building them; the stowage/* images are always built.
 */
import Docker from "dockerode";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  COURSE_IMAGES,
  IMAGE_LABEL,
  RECIPE_HASH_LABEL,
  findCourseImage,
  imageRef,
  imageRefs,
  type CourseImage,
} from "./catalog.ts";
import { loadSetting, type Config } from "../config.ts";
import { eachLine } from "../http/lines.ts";
import { parseEngineList } from "../naming/engine-addresses.ts";
import { engineFrom } from "../docker/engine.ts";

/** Bump to rebuild every image (changes every recipe hash). */
const BUILDER_VERSION = "1";
const HERE = dirname(fileURLToPath(import.meta.url));
export const RECIPES_DIR = join(HERE, "recipes");

export type ImageSource = Config["imageSource"];

export interface EnsureImagesOptions {
  /** Engine client; default `new Docker()` (honours DOCKER_HOST). */
  docker?: Docker;
  /** "build" (default) or "pull"; default from STOWAGE_IMAGE_SOURCE. Only `pullable` images are pulled. */
  source?: ImageSource;
  /** Only these images (references or names, e.g. "postgres:15", "stowage/notes"), plus what they are built FROM. */
  only?: string[];
  /** Rebuild the selected images even when their recipe hash matches. */
  force?: boolean;
  /** Do not reuse the engine's layer cache (with `force`: a cold build). */
  noCache?: boolean;
  /** Where progress goes; default process.stderr; null for silence. */
  progress?: NodeJS.WritableStream | null;
  /** Recipe folders; default sandbox/images/recipes. */
  recipesDir?: string;
}

export interface ImageResult {
  /** Primary reference, e.g. "postgres:15". */
  ref: string;
  /** Every tag set on the image (primary first). */
  tags: string[];
  /** Image ID (sha256:...). */
  id: string;
  action: "cached" | "built" | "pulled";
  /** Recipe hash (the image ID for a pulled image). */
  hash: string;
  seconds: number;
}

/** A build that failed, naming the image and the step. */
export class ImageBuildError extends Error {
  readonly image: string;
  readonly step: string;
  constructor(image: string, step: string, message: string) {
    super(`building ${image} failed at ${step}: ${message}`);
    this.name = "ImageBuildError";
    this.image = image;
    this.step = step;
  }
}

/** The course images a recipe's Dockerfile is built FROM (in order), checked against the catalog. */
export async function recipeParents(
  image: CourseImage,
  recipesDir = RECIPES_DIR,
): Promise<CourseImage[]> {
  const dockerfile = await readFile(join(recipesDir, image.recipe, "Dockerfile"), "utf8");
  const stages = new Set<string>();
  const parents: CourseImage[] = [];
  for (const line of dockerfile.split("\n")) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m) continue;
    const from = m[1]!;
    if (m[2]) stages.add(m[2].toLowerCase());
    if (from === "scratch" || stages.has(from.toLowerCase())) continue;
    const parent = findCourseImage(from);
    if (!parent)
      throw new Error(
        `recipe ${image.recipe}: FROM ${from} is not a course image (there is no registry to pull it from)`,
      );
    if (!parents.includes(parent)) parents.push(parent);
  }
  return parents;
}

/** Hash of a recipe folder (paths, executable bits, contents) and of its parents' hashes. */
export async function recipeHash(
  image: CourseImage,
  parentHashes: string[],
  recipesDir = RECIPES_DIR,
): Promise<string> {
  const dir = join(recipesDir, image.recipe);
  const hash = createHash("sha256");
  hash.update(`stowage-builder ${BUILDER_VERSION}\0${imageRef(image)}\0`);
  for (const file of await listFiles(dir)) {
    const st = await stat(join(dir, file));
    hash.update(`${file}\0${st.mode & 0o111 ? "x" : "-"}\0${st.size}\0`);
    hash.update(await readFile(join(dir, file)));
  }
  for (const p of parentHashes) hash.update(`\0parent ${p}`);
  return hash.digest("hex").slice(0, 32);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Builds (or pulls) every course image that is missing or out of date, parents first. */
export async function ensureImages(opts: EnsureImagesOptions = {}): Promise<ImageResult[]> {
  const docker = opts.docker ?? new Docker();
  const source = opts.source ?? loadSetting("imageSource");
  const recipesDir = opts.recipesDir ?? RECIPES_DIR;
  const out = opts.progress === undefined ? process.stderr : opts.progress;
  const progress = new Progress(out);
  const selected = await selectImages(opts.only, recipesDir);
  // --force applies to the images asked for, not to the parents they pull in.
  const forced = new Set(
    opts.force
      ? opts.only?.length
        ? await selectImages(opts.only, recipesDir, false)
        : selected
      : [],
  );
  const started = Date.now();
  const release = await acquireLock(progress);
  try {
    const hashes = new Map<CourseImage, string>();
    const results: ImageResult[] = [];
    for (const image of COURSE_IMAGES) {
      if (!selected.has(image)) continue;
      const t0 = Date.now();
      const parents = await recipeParents(image, recipesDir);
      const parentHashes = parents.map((p) => {
        const h = hashes.get(p);
        if (!h)
          throw new Error(
            `recipe ${image.recipe} is built FROM ${imageRef(p)}, which comes later in the catalog`,
          );
        return h;
      });
      let result: ImageResult;
      if (source === "pull" && image.pullable) {
        result = await pullImage(docker, image, progress);
      } else {
        const hash = await recipeHash(image, parentHashes, recipesDir);
        const current = await inspectImage(docker, imageRef(image));
        if (!forced.has(image) && current?.Config?.Labels?.[RECIPE_HASH_LABEL] === hash) {
          await tagAliases(docker, image, current.Id);
          result = {
            ref: imageRef(image),
            tags: imageRefs(image),
            id: current.Id,
            action: "cached",
            hash,
            seconds: 0,
          };
        } else {
          const id = await buildImage(
            docker,
            image,
            hash,
            recipesDir,
            progress,
            opts.noCache ?? false,
          );
          await tagAliases(docker, image, id);
          if (current && current.Id !== id)
            await removeIfDangling(docker, current.Id, imageRef(image));
          result = {
            ref: imageRef(image),
            tags: imageRefs(image),
            id,
            action: "built",
            hash,
            seconds: 0,
          };
        }
      }
      result.seconds = (Date.now() - t0) / 1000;
      hashes.set(image, result.hash);
      results.push(result);
      progress.idle();
      progress.line(`${pad(result.ref)} ${describe(result)}`);
    }
    await removeOwnLeftovers(docker);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const built = results.filter((r) => r.action !== "cached").length;
    progress.line(
      built === 0
        ? `all ${results.length} images up to date (${secs} s)`
        : `${built} of ${results.length} images built or pulled in ${secs} s`,
    );
    return results;
  } finally {
    progress.clear();
    release();
  }
}

function describe(r: ImageResult): string {
  const id = r.id.replace(/^sha256:/, "").slice(0, 12);
  const tags = r.tags.length > 1 ? ` (also ${r.tags.slice(1).join(", ")})` : "";
  if (r.action === "cached") return `up to date, nothing to build [${id}]${tags}`;
  if (r.action === "pulled") return `pulled in ${r.seconds.toFixed(1)} s [${id}]${tags}`;
  return `built in ${r.seconds.toFixed(1)} s [${id}]${tags}`;
}

function pad(s: string): string {
  return s.padEnd(28);
}

async function selectImages(
  only: string[] | undefined,
  recipesDir: string,
  withParents = true,
): Promise<Set<CourseImage>> {
  if (!only || only.length === 0) return new Set(COURSE_IMAGES);
  const selected = new Set<CourseImage>();
  const add = async (image: CourseImage): Promise<void> => {
    if (selected.has(image)) return;
    if (withParents) for (const p of await recipeParents(image, recipesDir)) await add(p);
    selected.add(image);
  };
  for (const name of only) {
    const image =
      findCourseImage(name) ?? COURSE_IMAGES.find((i) => i.name === name || i.recipe === name);
    if (!image)
      throw new Error(
        `unknown image "${name}"; the course images are ${COURSE_IMAGES.map(imageRef).join(", ")}`,
      );
    await add(image);
  }
  return selected;
}

interface InspectedImage {
  Id: string;
  RepoTags?: string[] | null;
  Config?: { Labels?: Record<string, string> | null } | null;
  ContainerConfig?: { Cmd?: string[] | null } | null;
}

async function inspectImage(docker: Docker, ref: string): Promise<InspectedImage | undefined> {
  try {
    return (await docker.getImage(ref).inspect()) as InspectedImage;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

async function tagAliases(docker: Docker, image: CourseImage, id: string): Promise<void> {
  for (const tag of image.aliases) {
    const current = await inspectImage(docker, `${image.name}:${tag}`);
    if (current?.Id === id) continue;
    await docker.getImage(id).tag({ repo: image.name, tag });
  }
}

/**
 * True for an image this builder made: its own last instruction is our LABEL. (Images that
 * students build FROM ours inherit the labels, but their last instruction is theirs.)
 */
function builtHere(image: InspectedImage, ref?: string): boolean {
  const labels = image.Config?.Labels ?? {};
  const last = (image.ContainerConfig?.Cmd ?? []).join(" ");
  return (
    Boolean(labels[IMAGE_LABEL]) &&
    (ref === undefined || labels[IMAGE_LABEL] === ref) &&
    last.includes(`LABEL ${RECIPE_HASH_LABEL}=`)
  );
}

/** Removes an image this builder made before, once nothing is tagged with it (ignored when in use). */
async function removeIfDangling(docker: Docker, id: string, ref: string): Promise<void> {
  const old = await inspectImage(docker, id);
  if (!old || !builtHere(old, ref)) return;
  if ((old.RepoTags ?? []).some((t) => t !== "<none>:<none>")) return;
  await docker
    .getImage(id)
    .remove()
    .catch(() => undefined);
}

/** Removes earlier builds of ours left untagged while containers still used them (best effort). */
async function removeOwnLeftovers(docker: Docker): Promise<void> {
  const dangling = await docker
    .listImages({ filters: JSON.stringify({ dangling: ["true"], label: [IMAGE_LABEL] }) })
    .catch(() => []);
  for (const summary of dangling) {
    const ref = summary.Labels?.[IMAGE_LABEL];
    if (ref) await removeIfDangling(docker, summary.Id, ref).catch(() => undefined);
  }
}

async function buildImage(
  docker: Docker,
  image: CourseImage,
  hash: string,
  recipesDir: string,
  progress: Progress,
  noCache: boolean,
): Promise<string> {
  const ref = imageRef(image);
  const dir = join(recipesDir, image.recipe);
  const work = mkdtempSync(join(tmpdir(), "stowage-image-"));
  try {
    const tarArgs = ["--numeric-owner", "--owner=0", "--group=0", "-c", "-C", dir, "."];
    if (existsSync(join(dir, "rootfs.sh"))) {
      await makeRootfs(image, dir, join(work, "rootfs.tar"), progress);
      tarArgs.push("-C", work, "rootfs.tar");
    }
    progress.start(ref, "sending the build context");
    const context = spawn("tar", tarArgs, { stdio: ["ignore", "pipe", "pipe"] });
    let tarError = "";
    context.stderr.on("data", (d: Buffer) => (tarError += d.toString()));
    const contextDone = new Promise<void>((res, rej) => {
      context.on("error", rej);
      context.on("close", (code) =>
        code === 0
          ? res()
          : rej(new Error(`tar of the build context exited ${code}: ${tarError.trim()}`)),
      );
    });
    const stream = await docker.buildImage(context.stdout, {
      t: ref,
      labels: { [RECIPE_HASH_LABEL]: hash, [IMAGE_LABEL]: ref },
      rm: true,
      forcerm: true,
      nocache: noCache,
    });
    const id = await followBuild(ref, stream, progress);
    await contextDone.catch((error: Error) => {
      throw new ImageBuildError(ref, "sending the build context", error.message);
    });
    return id;
  } catch (error) {
    if (error instanceof ImageBuildError) throw error;
    throw new ImageBuildError(ref, progress.currentStep || "start", (error as Error).message);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs the recipe's rootfs.sh on this host (it needs root: debootstrap, file ownership). */
async function makeRootfs(
  image: CourseImage,
  dir: string,
  outTar: string,
  progress: Progress,
): Promise<void> {
  const ref = imageRef(image);
  if (process.getuid && process.getuid() !== 0) {
    throw new ImageBuildError(
      ref,
      "rootfs.sh",
      "making the root filesystem needs root on this host (debootstrap, file ownership); run as root, or set STOWAGE_IMAGE_SOURCE=pull to use the official images",
    );
  }
  progress.start(ref, "rootfs.sh: making the root filesystem on the host");
  const tail: string[] = [];
  const child = spawn("bash", [join(dir, "rootfs.sh"), outTar], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  const onData = (d: Buffer): void => {
    for (const line of d.toString().split("\n")) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 30) tail.shift();
      progress.output(line);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("close", res);
  });
  if (code !== 0)
    throw new ImageBuildError(
      ref,
      "rootfs.sh (making the root filesystem)",
      `exited ${code}; last output:\n${indent(tail.slice(-15))}`,
    );
}

interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** Reads the engine's build output: progress by step, the image ID, or an error naming the step. */
function followBuild(
  ref: string,
  stream: NodeJS.ReadableStream,
  progress: Progress,
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let id = "";
    let step = "";
    let failed = false;
    const tail: string[] = [];
    const handle = (msg: BuildMessage): void => {
      if (msg.error || msg.errorDetail) {
        failed = true;
        const message = msg.errorDetail?.message ?? msg.error ?? "unknown error";
        reject(
          new ImageBuildError(
            ref,
            step || "start",
            `${message}${tail.length ? `\nlast output:\n${indent(tail.slice(-15))}` : ""}`,
          ),
        );
        return;
      }
      if (msg.aux?.ID) id = msg.aux.ID;
      const text = msg.stream ?? msg.status ?? "";
      for (const raw of text.split("\n")) {
        const line = raw.replace(/\r/g, "").trimEnd();
        if (!line) continue;
        const m = /^Step (\d+\/\d+) : (.*)$/.exec(line);
        if (m) {
          step = `step ${m[1]} (${m[2]!.slice(0, 100)})`;
          progress.step(ref, `step ${m[1]}: ${m[2]}`);
          tail.length = 0;
          continue;
        }
        const built = /^Successfully built ([0-9a-f]+)$/.exec(line);
        if (built && !id) id = built[1]!;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        progress.output(line);
      }
    };
    const rest = eachLine(stream, (line) => {
      const piece = line.trim();
      if (!piece) return;
      try {
        handle(JSON.parse(piece) as BuildMessage);
      } catch {
        progress.output(piece);
      }
    });
    stream.on("error", (error: Error) => {
      if (!failed) reject(new ImageBuildError(ref, step || "start", error.message));
      failed = true;
    });
    stream.on("end", () => {
      if (failed) return;
      if (rest().trim()) {
        try {
          handle(JSON.parse(rest().trim()) as BuildMessage);
        } catch {
          /* not JSON: ignore */
        }
      }
      if (failed) return;
      if (!id)
        reject(new ImageBuildError(ref, step || "start", "the engine did not report an image ID"));
      else resolvePromise(id.startsWith("sha256:") ? id : `sha256:${id}`);
    });
  });
}

async function pullImage(
  docker: Docker,
  image: CourseImage,
  progress: Progress,
): Promise<ImageResult> {
  const ref = imageRef(image);
  const current = await inspectImage(docker, ref);
  if (current && !current.Config?.Labels?.[RECIPE_HASH_LABEL]) {
    await tagAliases(docker, image, current.Id);
    return {
      ref,
      tags: imageRefs(image),
      id: current.Id,
      action: "cached",
      hash: current.Id,
      seconds: 0,
    };
  }
  progress.start(ref, "pulling the official image");
  try {
    const stream = await docker.pull(ref);
    await new Promise<void>((res, rej) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? rej(error) : res()),
        (event: { status?: string; id?: string; progress?: string }) =>
          progress.output([event.id, event.status, event.progress].filter(Boolean).join(" ")),
      );
    });
  } catch (error) {
    throw new ImageBuildError(
      ref,
      "docker pull",
      `${(error as Error).message} (STOWAGE_IMAGE_SOURCE=pull needs access to Docker Hub; unset it to build the image locally)`,
    );
  }
  const pulled = await inspectImage(docker, ref);
  if (!pulled) throw new ImageBuildError(ref, "docker pull", "the image is missing after the pull");
  await tagAliases(docker, image, pulled.Id);
  return {
    ref,
    tags: imageRefs(image),
    id: pulled.Id,
    action: "pulled",
    hash: pulled.Id,
    seconds: 0,
  };
}

function indent(lines: string[]): string {
  return lines.map((l) => `    ${l}`).join("\n");
}

/**
 * Progress on stderr. On a terminal: one status line rewritten in place (image, step, elapsed,
 * last output line). Otherwise: one line per build step plus a heartbeat every 15 s.
 */
class Progress {
  private readonly out: NodeJS.WritableStream | null;
  private readonly tty: boolean;
  private image = "";
  private label = "";
  private last = "";
  private imageStarted = 0;
  private stepStarted = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastHeartbeat = 0;
  currentStep = "";

  constructor(out: NodeJS.WritableStream | null) {
    this.out = out;
    this.tty = Boolean(out && (out as { isTTY?: boolean }).isTTY);
  }

  start(image: string, label: string): void {
    if (this.image !== image) this.imageStarted = Date.now();
    this.image = image;
    this.step(image, label);
    if (!this.timer && this.out) {
      this.timer = setInterval(() => this.tick(), 1000);
      this.timer.unref();
    }
  }

  step(image: string, label: string): void {
    if (this.image !== image) {
      this.image = image;
      this.imageStarted = Date.now();
    }
    this.label = label;
    this.currentStep = label;
    this.last = "";
    this.stepStarted = Date.now();
    this.lastHeartbeat = Date.now();
    if (!this.tty) this.write(`  ${image}: ${label.slice(0, 110)} [${this.elapsed()}]\n`);
    else this.render();
  }

  output(line: string): void {
    this.last = line;
    if (this.tty) this.render();
  }

  /** A permanent line (clears the status line first). */
  line(text: string): void {
    if (this.tty) this.write("\r\x1b[K");
    this.write(`${text}\n`);
    if (this.tty && this.label) this.render();
  }

  /** Between images: no status line until the next one starts. */
  idle(): void {
    this.label = "";
    if (this.tty) this.write("\r\x1b[K");
  }

  clear(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.write("\r\x1b[K");
    this.label = "";
  }

  private tick(): void {
    if (!this.label) return;
    if (this.tty) this.render();
    else if (Date.now() - this.lastHeartbeat >= 15_000) {
      this.lastHeartbeat = Date.now();
      const stepSecs = Math.round((Date.now() - this.stepStarted) / 1000);
      this.write(
        `  ${this.image}: still at ${this.label.slice(0, 60)} (${stepSecs} s in this step) ${this.last.slice(0, 60)} [${this.elapsed()}]\n`,
      );
    }
  }

  private render(): void {
    const cols = (this.out as { columns?: number } | null)?.columns || 100;
    const text = `${this.image}  ${this.label}  [${this.elapsed()}]  ${this.last}`.replace(
      /\s+/g,
      " ",
    );
    this.write(`\r\x1b[K${text.slice(0, Math.max(20, cols - 1))}`);
  }

  private elapsed(): string {
    return `${Math.round((Date.now() - this.imageStarted) / 1000)} s`;
  }

  private write(s: string): void {
    this.out?.write(s);
  }
}

/** One builder at a time on this host (several processes may call ensureImages at once). */
async function acquireLock(progress: Progress): Promise<() => void> {
  const path = join(tmpdir(), "stowage-images.lock");
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8") === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder = NaN;
      try {
        holder = Number(readFileSync(path, "utf8"));
      } catch {
        continue;
      }
      if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
        try {
          unlinkSync(path);
        } catch {
          /* someone else removed it */
        }
        continue;
      }
      if (!announced)
        progress.line(`waiting for another image build to finish (pid ${holder}, lock ${path})`);
      announced = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The course images on every engine sessions run on (STOWAGE_ENGINES): built on the first, then
 * copied from it to each other engine that lacks one or has another (same image ID, or the same
 * recipe hash, is up to date). A copy goes engine to engine through this process (the engine's
 * image export piped into the other's import), so it works the same for a remote engine and
 * costs one export instead of a second build (debootstrap and apt run once).
 */
export async function ensureImagesOnEngines(
  engines: { name: string; docker: Docker }[],
  opts: EnsureImagesOptions = {},
): Promise<ImageResult[]> {
  const [first, ...others] = engines;
  if (!first) throw new Error("no engine to build the course images on");
  const results = await ensureImages({ ...opts, docker: first.docker });
  const out = opts.progress === undefined ? process.stderr : opts.progress;
  for (const engine of others) await copyImages(first, engine, results, out);
  return results;
}

/**
 * The course images `from` has, copied to `to` where missing or different (the server does this
 * for each extra engine at start and when one answers again: sessions there need the images).
 */
export async function copyCourseImages(
  from: { name: string; docker: Docker },
  to: { name: string; docker: Docker },
  out: NodeJS.WritableStream | null = null,
): Promise<number> {
  const present: { ref: string; id: string; hash: string }[] = [];
  for (const image of COURSE_IMAGES) {
    const found = await inspectImage(from.docker, imageRef(image));
    if (found)
      present.push({
        ref: imageRef(image),
        id: found.Id,
        hash: found.Config?.Labels?.[RECIPE_HASH_LABEL] ?? found.Id,
      });
  }
  return copyImages(from, to, present, out);
}

/** Copies each image `to` lacks (same ID or recipe hash is up to date); returns how many were copied. */
async function copyImages(
  from: { name: string; docker: Docker },
  to: { name: string; docker: Docker },
  images: { ref: string; id: string; hash: string }[],
  out: NodeJS.WritableStream | null,
): Promise<number> {
  const t0 = Date.now();
  let copied = 0;
  for (const result of images) {
    const there = await inspectImage(to.docker, result.ref);
    if (
      there &&
      (there.Id === result.id || there.Config?.Labels?.[RECIPE_HASH_LABEL] === result.hash)
    )
      continue;
    const started = Date.now();
    out?.write(`  ${to.name}: copying ${result.ref} from ${from.name}\n`);
    const exported = (await from.docker
      .getImage(result.ref)
      .get()) as unknown as NodeJS.ReadableStream;
    const loaded = (await to.docker.loadImage(exported, {
      quiet: true,
    })) as unknown as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      eachLine(loaded, (line) => {
        if (!line.trim()) return;
        try {
          failure ??= (JSON.parse(line) as { error?: string }).error;
        } catch {
          failure ??= line;
        }
      });
      loaded.on("error", reject);
      loaded.on("end", () =>
        failure
          ? reject(new ImageBuildError(result.ref, `copy to ${to.name}`, failure))
          : resolve(),
      );
    });
    const image = findCourseImage(result.ref);
    if (image) await tagAliases(to.docker, image, result.id);
    copied++;
    out?.write(
      `${pad(result.ref)} copied to ${to.name} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  out?.write(
    copied === 0
      ? `${to.name}: all ${images.length} images up to date\n`
      : `${to.name}: ${copied} of ${images.length} images copied in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return copied;
}

async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals: args } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      force: { type: "boolean" },
      "no-cache": { type: "boolean" },
      pull: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }); // an unknown option throws, naming it
  if (flags.help) {
    process.stdout.write(
      `usage: node sandbox/images/build.ts [--force] [--no-cache] [--pull] [image ...]\n\n` +
        `Builds the course images, skipping those whose recipe is unchanged.\n` +
        `  --force     rebuild the named images (or all) even when up to date\n` +
        `  --no-cache  do not reuse the engine's layer cache (--force --no-cache: a cold build)\n` +
        `  --pull      pull the official busybox, debian, postgres, nginx (same as STOWAGE_IMAGE_SOURCE=pull)\n\n` +
        COURSE_IMAGES.map((i) => `  ${imageRefs(i).join(", ")}\n      ${i.description}\n`).join(""),
    );
    return 0;
  }
  // Every engine sessions may run on (DOCKER_HOST's and STOWAGE_ENGINES'), the default first.
  const engines = parseEngineList({
    dockerHost: loadSetting("dockerHost"),
    engines: loadSetting("engines"),
    sessionSubnets: loadSetting("sessionSubnets"),
  }).map((address) => ({
    name: address.name,
    docker: engineFrom(address, { concurrentStarts: 1 }).docker,
  }));
  await ensureImagesOnEngines(engines, {
    only: args,
    force: flags.force,
    noCache: flags["no-cache"],
    source: flags.pull ? "pull" : undefined,
  });
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`\nimages: ${error.message}\n`);
      process.exit(1);
    },
  );
}
