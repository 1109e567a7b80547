/**
 * `docker build` (classic builder, POST /build with a context tar) and the image endpoints that
 * name a session's own images: list, inspect, history, tag, remove. Why the classic builder and
 * not BuildKit: docs/decisions/builds.md.
 *
 * A build is rebuilt like every request: the context is read (bounded, charged to the disk
 * quota's allowance), its Dockerfile checked and rewritten (dockerfile.ts), its tags scoped to
 * the session and labelled as its own, and the engine is asked with parameters set here: no
 * network, the session's cgroup and a student container's memory and CPU limits.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";
import type { Engine } from "../docker/engine.ts";
import { LABEL_SESSION, type SessionScope } from "../naming/scope.ts";
import { eachLine } from "../http/lines.ts";
import { sendJson } from "../http/router.ts";
import { readBounded } from "../http/body.ts";
import { engineRequest, readAll } from "./engine-http.ts";
import { LIMITS } from "./limits.ts";
import { PolicyError } from "./refusal.ts";
import { imageRef } from "./fields.ts";
import { planDockerfile } from "./dockerfile.ts";
import { OWN_IMAGE_QUOTA, SessionImages, ownTag } from "./own-images.ts";
import { Mutex } from "./session-budget.ts";
import type { StudentView } from "./rewrite.ts";

export const BUILD_BOUNDS = {
  /** The build context the CLI sends (after .dockerignore): a lesson's folder is a few KiB. */
  contextBytes: 32 * 1024 * 1024,
  contextEntries: 2000,
  tags: 3,
  buildArgs: 16,
  buildArgBytes: 256,
  labels: 16,
} as const;

export interface ImageContext {
  engine: Engine;
  scope: SessionScope;
  view: StudentView;
  /** What may still be written to disk (the disk quota's allowance, shared with docker cp). */
  allowance: { remaining(): Promise<number> | number; charge(bytes: number): void };
  /** The images list's filters, checked and scoped (filters.ts scopedFilters). */
  filters(raw: string | null): string;
}

/** One build, tag or removal at a time per session: the quota read is the quota the build lands on, and no base image goes away mid-build. */
const locks = new WeakMap<SessionScope, Mutex>();
function lockOf(scope: SessionScope): Mutex {
  let lock = locks.get(scope);
  if (!lock) locks.set(scope, (lock = new Mutex()));
  return lock;
}

const refuse = (what: string, why: string): never => {
  throw new PolicyError(`this sandbox does not allow ${what}: ${why}`, 403);
};

/** The image endpoints: `kind` is the policy's endpoint kind. */
export async function handleImages(
  kind: string,
  ctx: ImageContext,
  params: string[],
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const images = new SessionImages(ctx.engine, ctx.scope);
  const [ref] = params;
  if (kind === "image.build")
    return lockOf(ctx.scope).run(() => build(ctx, images, query, req, res));
  await noBody(req);
  switch (kind) {
    case "images.list": {
      const q = new URLSearchParams();
      for (const key of ["all", "digests"])
        if (query.get(key) !== null) q.set(key, query.get(key)!);
      const raw = query.get("filters");
      if (raw) {
        const filters = JSON.parse(ctx.filters(raw)) as Record<string, string[]>;
        delete filters.before; // they name an image: another session's would answer differently
        delete filters.since;
        if (filters.reference)
          filters.reference = filters.reference.flatMap((r) => [r, ctx.scope.engineName(r)]);
        q.set("filters", JSON.stringify(filters));
      }
      return sendJson(res, 200, ctx.view.json(await images.list(q)));
    }
    case "image.inspect": {
      const resolved = await images.resolve(ref!);
      const what = req.url!.split("?")[0]!.endsWith("/history") ? "history" : "json";
      const upstream = await engineRequest(ctx.engine, {
        method: "GET",
        path: `/images/${resolved}/${what}`,
      });
      const status = upstream.statusCode ?? 500;
      let body = parseAnswer((await readAll(upstream, 16 * 1024 * 1024)).toString("utf8"));
      if (status === 200 && what === "json") {
        const image = body as { RepoTags?: string[]; RepoDigests?: string[] };
        body = {
          ...image,
          RepoTags: (image.RepoTags ?? []).filter((t) => images.visibleTag(t)),
          RepoDigests: [],
        };
      } else if (status === 200) {
        body = (body as { Tags?: string[] | null }[]).map((h) => ({
          ...h,
          Tags: h.Tags ? h.Tags.filter((t) => images.visibleTag(t)) : h.Tags,
        }));
      }
      return sendJson(res, status, ctx.view.json(body));
    }
    case "image.delete":
      return lockOf(ctx.scope).run(async () => {
        const tag = await images.ownTagOf(ref!);
        const { status, body } = await images.removeTag(tag);
        const text = body.toString("utf8");
        return sendJson(res, status, ctx.view.json(text ? parseAnswer(text) : []));
      });
    case "image.tag":
      return lockOf(ctx.scope).run(async () => {
        const source = await images.resolve(ref!);
        const target = ownTag(
          ctx.scope,
          `${query.get("repo") ?? ""}${query.get("tag") ? `:${query.get("tag")}` : ""}`,
        );
        await images.checkQuota(1);
        const colon = target.lastIndexOf(":");
        const upstream = await engineRequest(ctx.engine, {
          method: "POST",
          path: `/images/${source}/tag`,
          query: new URLSearchParams({
            repo: target.slice(0, colon),
            tag: target.slice(colon + 1),
          }),
        });
        const text = (await readAll(upstream)).toString("utf8");
        if ((upstream.statusCode ?? 500) >= 300)
          return sendJson(res, upstream.statusCode ?? 500, ctx.view.json(parseAnswer(text)));
        res.writeHead(upstream.statusCode ?? 201);
        res.end();
      });
  }
  throw new PolicyError(`unhandled endpoint ${kind}`, 500);
}

async function noBody(req: IncomingMessage): Promise<void> {
  const body = await readBounded(
    req,
    1024,
    () => new PolicyError(`${req.method} ${req.url} takes no request body`, 400),
  );
  if (body.length > 0) throw new PolicyError(`${req.method} ${req.url} takes no request body`, 400);
}

const truthy = (v: string | null) => v !== null && !["", "0", "false"].includes(v.toLowerCase());

/** The engine's query for a build, from the student's: each parameter decided here. */
export function buildQuery(
  scope: SessionScope,
  query: URLSearchParams,
): { engine: URLSearchParams; dockerfile: string; tags: string[] } {
  if (query.get("remote"))
    refuse(
      "building from a URL (docker build URL)",
      "builds here have no network; build from a folder",
    );
  if (query.get("outputs")) refuse("--output", "images built here stay in the sandbox");
  if (truthy(query.get("pull")))
    refuse(
      "docker build --pull",
      "there is no registry here; the course's images are already on this machine",
    );
  if (query.get("platform"))
    refuse("--platform", "images here are for this machine's platform only");
  const network = query.get("networkmode") ?? "";
  if (!["", "default", "none"].includes(network))
    refuse(`docker build --network ${network}`, "builds here have no network, as your containers");
  for (const key of ["extrahosts", "securityopt", "isolation", "squash", "session"]) {
    if (query.get(key) && query.get(key) !== "[]")
      refuse(
        `docker build --${key === "extrahosts" ? "add-host" : key === "securityopt" ? "security-opt" : key}`,
        "builds run with the sandbox's settings",
      );
  }
  if (query.get("ulimits") && !["[]", "null"].includes(query.get("ulimits")!))
    refuse("docker build --ulimit", "builds run under the sandbox's limits");
  if (query.get("cachefrom") && !["[]", "null"].includes(query.get("cachefrom")!))
    refuse("docker build --cache-from", "the build cache is not shared here");
  if ((query.get("version") ?? "1") !== "1")
    refuse("BuildKit builds", "this sandbox uses the classic builder (DOCKER_BUILDKIT=0)");
  const memory = Number(query.get("memory") ?? 0);
  if (!(memory >= 0) || memory > LIMITS.memoryBytes)
    refuse(
      `docker build --memory ${query.get("memory")}`,
      `builds may use at most ${LIMITS.memoryBytes / 1024 ** 2} MiB`,
    );
  const cpuQuota = Number(query.get("cpuquota") ?? 0);
  const cpuPeriod = Number(query.get("cpuperiod") ?? 0) || 100_000;
  if (!(cpuQuota >= 0) || (cpuQuota > 0 && cpuQuota / cpuPeriod > LIMITS.nanoCpus / 1e9))
    refuse("docker build --cpu-quota", `builds may use at most ${LIMITS.nanoCpus / 1e9} CPU`);

  const tags = query.getAll("t");
  if (tags.length > BUILD_BOUNDS.tags)
    throw new PolicyError(`give at most ${BUILD_BOUNDS.tags} tags (-t) to one build`, 400);
  const engineTags = tags.map((t) => ownTag(scope, t));

  const dockerfile = (query.get("dockerfile") ?? "Dockerfile").replace(/^(\.\/)+/, "");
  if (
    !/^[A-Za-z0-9._/-]{1,200}$/.test(dockerfile) ||
    dockerfile.split("/").some((s) => s === ".." || s === "")
  ) {
    throw new PolicyError(
      `the Dockerfile must be a file in the build folder, not "${dockerfile}"`,
      400,
    );
  }
  const args = parseJsonMap("buildargs", query.get("buildargs"), BUILD_BOUNDS.buildArgs);
  for (const [key, value] of Object.entries(args)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key))
      throw new PolicyError(`invalid build argument name "${key.slice(0, 80)}"`, 400);
    if (/proxy$/i.test(key))
      refuse(`the build argument ${key}`, "builds here have no network, so no proxy");
    if (
      value !== null &&
      (typeof value !== "string" ||
        Buffer.byteLength(value) > BUILD_BOUNDS.buildArgBytes ||
        /[\0\n]|:\/\//.test(value))
    ) {
      refuse(
        `the value of the build argument ${key}`,
        `use a simple value of at most ${BUILD_BOUNDS.buildArgBytes} bytes, without URLs`,
      );
    }
  }
  const labels = parseJsonMap("labels", query.get("labels"), BUILD_BOUNDS.labels);
  for (const [key, value] of Object.entries(labels)) {
    if (key.toLowerCase().startsWith("stowage."))
      refuse(`the label ${key}`, "stowage.* labels belong to the sandbox");
    if (typeof value !== "string" || key.length > 128 || value.length > 1024)
      throw new PolicyError(
        `label ${key.slice(0, 80)}: at most 128 characters in a key and 1024 in a value`,
        400,
      );
  }
  const target = query.get("target");
  if (target && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(target))
    throw new PolicyError(`invalid --target "${target.slice(0, 80)}"`, 400);

  const engine = new URLSearchParams({
    dockerfile,
    networkmode: "none",
    rm: "1",
    forcerm: "1",
    memory: String(memory || LIMITS.memoryBytes),
    memswap: String(memory || LIMITS.memoryBytes), // no swap, as every student container
    cpuperiod: "100000",
    cpuquota: String(Math.round((LIMITS.nanoCpus / 1e9) * 100_000)),
    buildargs: JSON.stringify(args),
    labels: JSON.stringify({ ...labels, ...scope.ownedLabels() }),
  });
  if (scope.cgroupParent) engine.set("cgroupparent", scope.cgroupParent);
  for (const tag of engineTags) engine.append("t", tag);
  if (truthy(query.get("nocache"))) engine.set("nocache", "1");
  if (truthy(query.get("q"))) engine.set("q", "1");
  if (target) engine.set("target", target);
  return { engine, dockerfile, tags: engineTags };
}

function parseJsonMap(
  field: string,
  raw: string | null,
  max: number,
): Record<string, string | null> {
  if (!raw) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new PolicyError(`${field} is not valid JSON`, 400);
  }
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new PolicyError(`${field} must be a JSON object`, 400);
  if (Object.keys(value).length > max)
    throw new PolicyError(`give at most ${max} ${field} to one build`, 400);
  return value as Record<string, string | null>;
}

interface Entry {
  header: tar.Header;
  data: Buffer;
}

/** Reads the context tar: files, folders and links only, set-id bits cleared (as docker cp, archive-filter.ts). */
async function readContext(body: Buffer): Promise<Entry[]> {
  const extract = tar.extract();
  const entries: Entry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c) => void chunks.push(c as Buffer));
      stream.on("end", () => {
        if (
          ["file", "contiguous-file", "directory", "symlink", "link"].includes(
            header.type ?? "file",
          )
        ) {
          const type = header.type === "contiguous-file" ? "file" : (header.type ?? "file");
          entries.push({
            header: { ...header, mode: (header.mode ?? 0o644) & ~0o6000, type },
            data: Buffer.concat(chunks),
          });
        }
        if (entries.length > BUILD_BOUNDS.contextEntries)
          return reject(
            new PolicyError(
              `the build folder has more than ${BUILD_BOUNDS.contextEntries} files; build from a smaller folder (or use .dockerignore)`,
              413,
            ),
          );
        next();
      });
      stream.on("error", reject);
    });
    extract.on("finish", resolve);
    extract.on("error", () =>
      reject(new PolicyError("the build context is not a tar archive", 400)),
    );
  });
  extract.end(body);
  await done;
  return entries;
}

function packContext(entries: Entry[]): Readable {
  const pack = tar.pack();
  const output = new PassThrough();
  void (async () => {
    for (const { header, data } of entries) {
      const file = header.type === "file";
      await new Promise<void>((resolve, reject) => {
        pack.entry(
          { ...header, size: file ? data.length : 0 },
          file ? data : Buffer.alloc(0),
          (error) => (error ? reject(error) : resolve()),
        );
      });
    }
    pack.finalize();
  })().catch((error: unknown) => output.destroy(error as Error));
  pack.pipe(output);
  return output;
}

async function build(
  ctx: ImageContext,
  images: SessionImages,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const plan = buildQuery(ctx.scope, query);
  await images.checkQuota(plan.tags.length);
  const limit = Math.min(BUILD_BOUNDS.contextBytes, await ctx.allowance.remaining());
  if (limit <= 0)
    throw new PolicyError(
      "this sandbox's disk quota is used up; free some space before docker build",
      507,
    );
  const body = await readBounded(
    req,
    limit,
    () =>
      new PolicyError(
        `the build context is larger than ${Math.floor(limit / 1024 ** 2)} MiB (what builds here may send, or what is left of the disk quota): build from a smaller folder or use .dockerignore`,
        413,
      ),
  );
  ctx.allowance.charge(body.length);
  const entries = await readContext(gunzipped(body, limit));
  const wanted = plan.dockerfile;
  const dockerfile = entries.find(
    (e) => e.header.name.replace(/^(\.\/)+/, "") === wanted && (e.header.type ?? "file") === "file",
  );
  if (!dockerfile) throw new PolicyError(`the build folder has no file ${wanted}`, 400);
  const text = await planDockerfile(
    dockerfile.data.toString("utf8"),
    (ref) => images.resolve(imageRef(ref)),
    `${LABEL_SESSION}=${ctx.scope.sessionId}`,
  );
  dockerfile.data = Buffer.from(text);
  // No .dockerignore reaches the engine: the CLI applied it, and it could hide the Dockerfile rewritten here.
  const kept = entries.filter((e) => e.header.name.replace(/^(\.\/)+/, "") !== ".dockerignore");

  const upstream = await engineRequest(ctx.engine, {
    method: "POST",
    path: "/build",
    query: plan.engine,
    stream: packContext(kept),
    headers: { "content-type": "application/x-tar" },
  });
  if ((upstream.statusCode ?? 500) >= 300) {
    const answer = (await readAll(upstream)).toString("utf8");
    return sendJson(res, upstream.statusCode ?? 500, {
      message: ctx.view.text(safeMessage(answer)),
    });
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.flushHeaders();
  const rest = eachLine(upstream, (line) => {
    if (!res.write(ctx.view.text(line) + "\n") && !upstream.isPaused()) {
      upstream.pause();
      res.once("drain", () => upstream.resume());
    }
  });
  res.on("close", () => upstream.destroy());
  await new Promise<void>((resolve) => {
    upstream.on("end", resolve);
    upstream.on("error", resolve);
    upstream.on("close", resolve);
  });
  if (rest()) res.write(ctx.view.text(rest()));
  // Built: over the byte quota, the new tags go again and the student reads why.
  const { bytes } = await images.usage();
  if (bytes > OWN_IMAGE_QUOTA.bytes) {
    for (const tag of plan.tags) await images.removeTag(tag).catch(() => undefined);
    const message = `your images would take ${Math.round(bytes / 1024 ** 2)} MiB, the most this sandbox holds is ${OWN_IMAGE_QUOTA.bytes / 1024 ** 2} MiB: the image was removed; remove others with docker rmi`;
    res.write(JSON.stringify({ errorDetail: { message }, error: message }) + "\n");
  }
  res.end();
}

/** Compose sends the context gzipped: unpacked here, to the same bound as a plain one (no gzip bomb). */
function gunzipped(body: Buffer, limit: number): Buffer {
  if (body[0] !== 0x1f || body[1] !== 0x8b) return body;
  try {
    return gunzipSync(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE")
      throw new PolicyError(
        `the build context is larger than ${Math.floor(limit / 1024 ** 2)} MiB unpacked: build from a smaller folder or use .dockerignore`,
        413,
      );
    throw new PolicyError("the build context is not a valid gzip archive", 400);
  }
}

/** An engine answer as JSON; text that is not JSON becomes `{ message }`, as the CLI reads errors. */
function parseAnswer(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return { message: text.slice(0, 1000).trim() };
  }
}

function safeMessage(answer: string): string {
  try {
    return (JSON.parse(answer) as { message?: string }).message ?? answer.slice(0, 1000);
  } catch {
    return answer.slice(0, 1000);
  }
}
