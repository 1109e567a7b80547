/**
 * Images on the shared engine as one session sees them: the course's images (sandbox/images/
 * catalog.ts), shared and never changed by a student, and the session's own, built or tagged
 * here and named like its containers (`myapp:v1` is `stw-<session>-myapp:v1` on the engine).
 * Another session's images do not exist for it: not listed, not inspectable, not usable in
 * FROM or docker run, not removable.
 */
import type { Engine } from "../docker/engine.ts";
import { STUDENT_IMAGES } from "../images/catalog.ts";
import {
  LABEL_INSTANCE,
  LABEL_OWNER,
  LABEL_SESSION,
  NAME_PREFIX,
  type SessionScope,
} from "../naming/scope.ts";
import { engineJson, engineRequest, readAll } from "./engine-http.ts";
import { PolicyError } from "./refusal.ts";
import { imageRef } from "./fields.ts";

/** What one session's own images may hold (count of tags and bytes of the images they name). */
export const OWN_IMAGE_QUOTA = { tags: 10, bytes: 1024 * 1024 * 1024 } as const;

/** Every `name:tag` a course image answers to (not the server's own tools: docker/host-helper.ts). */
export const COURSE_REFS: ReadonlySet<string> = new Set(
  STUDENT_IMAGES.flatMap((i) => [i.tag, ...i.aliases].map((t) => `${i.name}:${t}`)),
);

interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Labels?: Record<string, string> | null;
  Size?: number;
}

const REPO = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{1,64}$/;

/** A student's `repo[:tag]` as `repo:tag`, without the default registry's prefixes; undefined for a digest or an ID. */
export function normalRef(ref: string): string | undefined {
  if (ref.includes("@") || /^sha256:/.test(ref)) return undefined;
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  let repo = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : "latest";
  repo = repo.replace(/^docker\.io\//, "").replace(/^library\//, "");
  if (!REPO.test(repo) || !TAG.test(tag) || repo.length > 100) return undefined;
  return `${repo}:${tag}`;
}

/** The engine's tag for a tag the student gives (`docker build -t`, `docker tag`), or a clear refusal. */
export function ownTag(scope: SessionScope, studentRef: string): string {
  const ref = normalRef(studentRef);
  if (!ref || ref.startsWith(NAME_PREFIX))
    throw new PolicyError(
      `invalid image name "${studentRef}": use lowercase letters, digits, ".", "_", "-" and "/", and an optional :tag`,
      400,
    );
  return scope.engineName(ref);
}

export class SessionImages {
  private readonly engine: Engine;
  private readonly scope: SessionScope;

  constructor(engine: Engine, scope: SessionScope) {
    this.engine = engine;
    this.scope = scope;
  }

  /** True for an engine tag the session may see: a course image's or its own. */
  visibleTag(tag: string): boolean {
    return COURSE_REFS.has(tag) || tag.startsWith(this.scope.prefix);
  }

  private async inspect(ref: string): Promise<ImageSummary | undefined> {
    const { status, body } = await engineJson<ImageSummary>(this.engine, {
      method: "GET",
      path: `/images/${ref}/json`,
    });
    return status === 200 ? body : undefined;
  }

  /**
   * The engine's reference for an image the student names (docker run, FROM, inspect): their own
   * tag first, as a local tag shadows a pulled one at home, then the course's; an ID only when it
   * is one of those images. Anything else: 404 `No such image`, never a pull.
   */
  async resolve(ref: string): Promise<string> {
    imageRef(ref); // the shape the engine's path accepts, or 404
    const missing = new PolicyError(`No such image: ${ref}`, 404);
    const normal = normalRef(ref);
    if (normal !== undefined && !normal.startsWith(NAME_PREFIX)) {
      const own = this.scope.engineName(normal);
      if (await this.inspect(own)) return own;
      // As the student wrote it: the engine resolves it the same, and inspect shows `busybox`, not `busybox:latest`.
      if (COURSE_REFS.has(normal)) return ref;
    }
    // An ID (or its prefix) names an image the session may use only when one of its tags is visible to it.
    if (!IMAGE_ID.test(ref)) throw missing;
    const image = await this.inspect(ref);
    if (!image || !(image.RepoTags ?? []).some((t) => this.visibleTag(t))) throw missing;
    return image.Id;
  }

  /** The engine's own tag named by `ref`, or 404: what `docker rmi` may remove. */
  async ownTagOf(ref: string): Promise<string> {
    const normal = normalRef(ref);
    if (normal && COURSE_REFS.has(normal) && !(await this.inspect(this.scope.engineName(normal)))) {
      throw new PolicyError(
        `this sandbox does not allow removing ${normal}: the course's images are shared by every student (only images you built or tagged can be removed)`,
        403,
      );
    }
    if (!normal || normal.startsWith(NAME_PREFIX))
      throw new PolicyError(
        `No such image: ${ref} (remove your images by name, as docker images lists them)`,
        404,
      );
    const own = this.scope.engineName(normal);
    if (!(await this.inspect(own))) throw new PolicyError(`No such image: ${ref}`, 404);
    return own;
  }

  /** Every image on the engine with the session's view of it: tags cut to the visible ones. */
  async list(query?: URLSearchParams): Promise<ImageSummary[]> {
    const { body } = await engineJson<ImageSummary[]>(this.engine, {
      method: "GET",
      path: "/images/json",
      ...(query ? { query } : {}),
    });
    return this.visible(body ?? []);
  }

  /** Images as the session sees them (a list from /images/json or /system/df): others' left out, tags cut to the visible ones. */
  visible(images: readonly unknown[]): ImageSummary[] {
    const out: ImageSummary[] = [];
    for (const image of images as ImageSummary[]) {
      const tags = (image.RepoTags ?? []).filter((t) => this.visibleTag(t));
      const mine = image.Labels?.[LABEL_OWNER] === this.scope.sessionId;
      if (tags.length === 0 && !mine) continue;
      out.push({
        ...image,
        RepoTags: tags,
        RepoDigests: (image.RepoDigests ?? []).filter((d) =>
          this.visibleTag(d.replace(/@.*/, ":latest")),
        ),
      });
    }
    return out;
  }

  /** The session's own images and the bytes they take (a shared base layer counted in full: an upper bound). */
  async usage(): Promise<{ tags: number; bytes: number }> {
    const { body } = await engineJson<ImageSummary[]>(this.engine, {
      method: "GET",
      path: "/images/json",
    });
    let tags = 0;
    let bytes = 0;
    for (const image of body ?? []) {
      const own = (image.RepoTags ?? []).filter((t) => t.startsWith(this.scope.prefix)).length;
      if (own === 0 && image.Labels?.[LABEL_OWNER] !== this.scope.sessionId) continue;
      tags += own;
      // A tag on a course image unchanged (FROM busybox alone) costs no new bytes.
      if (!(image.RepoTags ?? []).some((t) => COURSE_REFS.has(t))) bytes += image.Size ?? 0;
    }
    return { tags, bytes };
  }

  /** Refuses when the session's own images are at their quota. */
  async checkQuota(newTags: number): Promise<void> {
    const { tags, bytes } = await this.usage();
    if (tags + newTags > OWN_IMAGE_QUOTA.tags)
      throw new PolicyError(
        `this sandbox holds at most ${OWN_IMAGE_QUOTA.tags} images of your own; remove some with docker rmi (docker images lists them)`,
        409,
      );
    if (bytes >= OWN_IMAGE_QUOTA.bytes)
      throw new PolicyError(
        `your images take ${Math.round(bytes / 1024 ** 2)} MiB, the most this sandbox holds is ${OWN_IMAGE_QUOTA.bytes / 1024 ** 2} MiB; remove some with docker rmi`,
        409,
      );
  }

  /** Removes one engine tag (and the image when it was its last tag); the engine's answer. */
  async removeTag(engineTag: string): Promise<{ status: number; body: Buffer }> {
    const upstream = await engineRequest(this.engine, {
      method: "DELETE",
      path: `/images/${engineTag}`,
    });
    return { status: upstream.statusCode ?? 500, body: await readAll(upstream) };
  }
}

/**
 * Removes every image of a session (its tags, and untagged images carrying its owner label),
 * for the session's cleanup. Containers using them are removed before.
 */
export async function removeSessionImages(engine: Engine, sessionId: string): Promise<void> {
  const prefix = `${NAME_PREFIX}${sessionId}-`;
  const { body } = await engineJson<ImageSummary[]>(engine, {
    method: "GET",
    path: "/images/json",
    query: new URLSearchParams({ all: "1" }),
  }).catch(() => ({ body: [] as ImageSummary[] }));
  const tags = (body ?? []).flatMap((i) => (i.RepoTags ?? []).filter((t) => t.startsWith(prefix)));
  for (const tag of tags)
    await engineJson(engine, { method: "DELETE", path: `/images/${tag}` }).catch(() => undefined);
  const untagged = (body ?? []).filter(
    (i) =>
      i.Labels?.[LABEL_OWNER] === sessionId &&
      !(i.RepoTags ?? []).some((t) => !t.startsWith(prefix) && t !== "<none>:<none>"),
  );
  for (const image of untagged)
    await engineJson(engine, {
      method: "DELETE",
      path: `/images/${image.Id}`,
      query: new URLSearchParams({ noprune: "0" }),
    }).catch(() => undefined);
}

/**
 * A previous run of this server may have died with sessions' images on the engine: every image
 * built by it (its instance label) goes, with its sessions' other tags, except the images of the
 * sessions in `keep` (adopted by the restarted server). Tags made by `docker tag`
 * of a course image carry no label and are only found by their session (removeSessionImages).
 */
export async function removeInstanceImages(
  engine: Engine,
  instance: string,
  keep: { has(sessionId: string): boolean } = new Set<string>(),
): Promise<void> {
  const { body } = await engineJson<ImageSummary[]>(engine, {
    method: "GET",
    path: "/images/json",
    query: new URLSearchParams({
      filters: JSON.stringify({ label: [`${LABEL_INSTANCE}=${instance}`] }),
    }),
  }).catch(() => ({ body: [] as ImageSummary[] }));
  const sessions = new Set(
    (body ?? [])
      .map((i) => i.Labels?.[LABEL_SESSION])
      .filter((s): s is string => !!s && /^[a-f0-9]{12}$/.test(s)),
  );
  for (const session of sessions)
    if (!keep.has(session)) await removeSessionImages(engine, session);
}
