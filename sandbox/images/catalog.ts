/**
 * The images the course uses. Every one is built locally from Debian packages (no image registry
 * is needed) under the official image's name and interface, so what students type here works
 * unchanged at home. `build.ts` builds them in the order listed (parents first).
 */

export interface CourseImage {
  /** Repository name as students type it, e.g. "postgres" or "stowage/notes". */
  name: string;
  /** Tag of the primary reference (`name:tag`), the one the recipe is built as. */
  tag: string;
  /** Further tags of the same repository pointing at the same image. */
  aliases: readonly string[];
  /** Recipe folder under sandbox/images/recipes/ (a Dockerfile, its files, optional rootfs.sh). */
  recipe: string;
  /** One line for the help page. */
  description: string;
  /** True when an operator may `docker pull` the official image instead (STOWAGE_IMAGE_SOURCE=pull). */
  pullable: boolean;
  /**
   * The server's own tool, never a student's: left out of what students see and may run
   * (COURSE_REFS in proxy/own-images.ts), of what lessons may name, and of the help page.
   */
  internal?: boolean;
}

export const WORKSTATION_IMAGE = "stowage/workstation:latest";
export const NOTES_IMAGE = "stowage/notes:latest";
/** The image of a remote engine's host helper (docker/host-helper.ts). */
export const HOST_TOOLS_IMAGE = "stowage/host-tools:latest";

/** Image label holding the hash of the recipe an image was built from. */
export const RECIPE_HASH_LABEL = "stowage.recipe-hash";
/** Image label naming the catalog entry (primary reference) an image was built for. */
export const IMAGE_LABEL = "stowage.image";

export const COURSE_IMAGES: readonly CourseImage[] = [
  {
    name: "busybox",
    tag: "latest",
    aliases: [],
    recipe: "busybox",
    description:
      "A 2 MB image with a shell and the usual small tools (sh, ls, cat, tar, gzip, nc, sleep).",
    pullable: true,
  },
  {
    name: "debian",
    tag: "bookworm-slim",
    aliases: ["bookworm", "latest"],
    recipe: "debian",
    description:
      "Debian 12 (bookworm), minimal: bash, apt and coreutils. Also tagged debian:bookworm and debian:latest.",
    pullable: true,
  },
  {
    name: "debian",
    tag: "trixie-slim",
    aliases: ["trixie"],
    recipe: "debian-trixie",
    description:
      "Debian 13 (trixie), minimal: bash, apt and coreutils. Also tagged debian:trixie. The workstation is built on it.",
    pullable: true,
  },
  {
    name: "postgres",
    tag: "15",
    aliases: ["15-bookworm"],
    recipe: "postgres",
    description:
      "PostgreSQL 15 with the official image's interface (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB; data in /var/lib/postgresql/data).",
    pullable: true,
  },
  {
    name: "nginx",
    tag: "latest",
    aliases: [],
    recipe: "nginx",
    description:
      "The nginx web server serving /usr/share/nginx/html on port 80; configuration in /etc/nginx/conf.d.",
    pullable: true,
  },
  {
    name: "stowage/notes",
    tag: "latest",
    aliases: [],
    recipe: "notes",
    description:
      "A small notes web app on port 8000: entries in a SQLite database at /data/app.db, uploads in /app/uploads.",
    pullable: false,
  },
  {
    name: "stowage/workstation",
    tag: "latest",
    aliases: [],
    recipe: "workstation",
    description:
      "Your terminal: bash, the docker CLI 26, docker compose (Compose v2), docker buildx, vi, nano, less, curl, jq and sqlite3.",
    pullable: false,
  },
  {
    name: "stowage/host-tools",
    tag: "latest",
    aliases: [],
    recipe: "host-tools",
    description:
      "The server's helper on a remote engine's host (iptables, cgroupfs, free memory); not for students.",
    pullable: false,
    internal: true,
  },
];

/** `name:tag` of an image's primary reference. */
export function imageRef(image: CourseImage): string {
  return `${image.name}:${image.tag}`;
}

/** Every reference an image is tagged with: the primary one first, then its aliases. */
export function imageRefs(image: CourseImage): string[] {
  return [imageRef(image), ...image.aliases.map((tag) => `${image.name}:${tag}`)];
}

/** The images students see and may run (every one but the server's own tools). */
export const STUDENT_IMAGES: readonly CourseImage[] = COURSE_IMAGES.filter((i) => !i.internal);

/** Every reference the course provides to students (what a lesson's `images:` may name). */
export const COURSE_IMAGE_REFS: readonly string[] = STUDENT_IMAGES.flatMap(imageRefs);

/**
 * Finds the catalog entry for a reference as a student or lesson writes it:
 * "busybox" (means :latest), "debian:bookworm", "postgres:15-bookworm"... The server's own
 * images are found too (the builder needs them); `findStudentImage` leaves them out.
 */
export function findCourseImage(ref: string): CourseImage | undefined {
  const full = normalizeRef(ref);
  return COURSE_IMAGES.find((image) => imageRefs(image).includes(full));
}

/** A course image a student or lesson may use, or undefined (the server's own tools are not). */
export function findStudentImage(ref: string): CourseImage | undefined {
  const image = findCourseImage(ref);
  return image?.internal ? undefined : image;
}

/** Adds ":latest" when no tag is given and strips a "docker.io/library/" prefix. */
export function normalizeRef(ref: string): string {
  let r = ref.replace(/^(docker\.io\/)?library\//, "").replace(/^docker\.io\//, "");
  const lastSlash = r.lastIndexOf("/");
  if (!r.slice(lastSlash + 1).includes(":")) r += ":latest";
  return r;
}
