/**
 * A student's bind of a home folder on a remote engine (`engine.remote`): the home is the volume
 * `scope.homeVolumeName` on that engine, not a folder of this server, so `-v ~/site:/usr/share/
 * nginx/html` becomes a volume mount of the home volume with `VolumeOptions.Subpath: "site"`.
 *
 * The path is resolved where the student sees it, in the workstation (an exec as the student:
 * `realpath`, then `mkdir -p` for `-v` as a host folder would be made), so a link out of the home
 * (`~/x -> /etc`, `~/x -> ../..`) is refused with the rule. What the student swaps between this
 * check and the engine's mount (a folder for a link) is confined by the engine: Engine 26
 * resolves a Subpath inside the volume and mounts what it opened (moby's safepath), so the worst
 * a swap reaches is another folder of the same home. Answers show the bind as it was written
 * (LABEL_HOME_BINDS), never the volume.
 */
import type { Engine } from "../docker/engine.ts";
import { runExec } from "../docker/exec-run.ts";
import { LABEL_HOME_BINDS, STUDENT_HOME, type SessionScope } from "../naming/scope.ts";
import { requestApiVersion } from "./api-versions.ts";
import { compareApiVersions } from "../docker/engine.ts";
import { PolicyError } from "./refusal.ts";
import type { Json } from "./fields.ts";

/** The API version from which an engine mounts a volume's Subpath (Engine 26). */
export const SUBPATH_API_VERSION = "1.45";

/** A bind of a home folder, as the student wrote it: kept on the container (LABEL_HOME_BINDS) for the answers. */
export interface HomeBind {
  /** The student's source, as written (`/home/student/site`). */
  source: string;
  target: string;
  /** `-v` (Binds) or `--mount` (Mounts). */
  form: "bind" | "mount";
  readOnly: boolean;
}

/** Where a student's path is in the home: the subpath ("" for the home itself), refused outside it. */
export type HomePlace = { subpath: string } | { outside: string } | { missing: true };

// $1 the student's path, $2 "1" to make it when missing. Exit 3: outside the home, 2: missing.
// realpath -m resolves every link that exists and folds ".." after a missing part lexically
// (a missing part cannot be a link), so "missing/../link-to-root/etc" is /etc: refused.
const RESOLVE_SCRIPT = `home=${STUDENT_HOME}
r=$(realpath -m -- "$1") || exit 4
case "$r" in "$home"|"$home"/*) ;; *) printf %s "$r"; exit 3;; esac
if [ ! -e "$r" ]; then
  [ "$2" = 1 ] || exit 2
  mkdir -p -- "$r" || exit 5
fi
f=$(realpath -e -- "$r") || exit 2
case "$f" in "$home"|"$home"/*) printf %s "$f";; *) printf %s "$f"; exit 3;; esac`;

/**
 * Resolves a student's bind source in the workstation, as the student (uid 1000): its place in
 * the home, made first when `create` (as `-v` makes a missing host folder).
 */
export async function homePlace(
  engine: Engine,
  workstationId: string | undefined,
  studentPath: string,
  create: boolean,
): Promise<HomePlace> {
  if (!workstationId) throw new PolicyError("this sandbox's workstation is not ready yet", 409);
  const { exitCode, stdout } = await execAsStudent(engine, workstationId, [
    "sh",
    "-c",
    RESOLVE_SCRIPT,
    "stowage-bind",
    studentPath,
    create ? "1" : "0",
  ]);
  if (exitCode === 0) {
    const rel = stdout === STUDENT_HOME ? "" : stdout.slice(STUDENT_HOME.length + 1);
    return { subpath: rel };
  }
  if (exitCode === 3) return { outside: stdout };
  if (exitCode === 2) return { missing: true };
  // realpath failed (a loop of links, a name too long) or the workstation did not answer in time.
  throw new PolicyError(
    `the bind source ${studentPath} could not be resolved in your home (a loop of links?)`,
    400,
  );
}

/** A short command in the workstation as the student, its stdout (at most 64 KiB) and exit code. */
async function execAsStudent(
  engine: Engine,
  workstationId: string,
  cmd: string[],
): Promise<{ exitCode: number | null; stdout: string }> {
  const { exitCode, stdout } = await runExec(
    engine.docker,
    workstationId,
    {
      Cmd: cmd,
      User: "1000:1000",
      WorkingDir: STUDENT_HOME,
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
    },
    { timeoutMs: 10_000, limit: 65536 },
  );
  return { exitCode, stdout };
}

/** The engine's mount for a bind of a home folder: the home volume at its subpath, never copied into. */
export function homeVolumeMount(
  scope: SessionScope,
  subpath: string,
  target: string,
  readOnly: boolean,
): Json {
  // A request below 1.45 would have the engine drop the Subpath and mount the whole home.
  const version = requestApiVersion();
  if (version !== undefined && compareApiVersions(version, SUBPATH_API_VERSION) < 0)
    throw new PolicyError(
      `a bind mount of a folder in your home needs Docker API v${SUBPATH_API_VERSION} or newer on this sandbox (this request speaks v${version}); unset DOCKER_API_VERSION`,
      400,
    );
  return {
    Type: "volume",
    Source: scope.homeVolumeName,
    Target: target,
    ReadOnly: readOnly,
    VolumeOptions: { NoCopy: true, ...(subpath ? { Subpath: subpath } : {}) },
  };
}

/** The label value that keeps a container's home binds as written. */
export function homeBindsLabel(binds: HomeBind[]): string {
  return JSON.stringify(binds.map((b) => [b.source, b.target, b.form, b.readOnly ? 1 : 0]));
}

function parseHomeBinds(label: unknown): HomeBind[] {
  if (typeof label !== "string") return [];
  try {
    return (JSON.parse(label) as [string, string, "bind" | "mount", number][]).map(
      ([source, target, form, ro]) => ({ source, target, form, readOnly: ro === 1 }),
    );
  } catch {
    return [];
  }
}

type MountPoint = { Type?: string; Name?: string; Destination?: string } & Record<string, unknown>;

/** A container's mount point as the engine would show the student's bind. */
function shownMountPoint(point: MountPoint, bind: HomeBind | undefined): MountPoint {
  return {
    Type: "bind",
    Source: bind?.source ?? STUDENT_HOME,
    Destination: point.Destination,
    Mode: bind?.form === "bind" && bind.readOnly ? "ro" : "",
    RW: point.RW,
    Propagation: "rprivate",
  };
}

/**
 * A container list entry or inspect answer with its home-volume mounts shown as the student's
 * binds (`docker ps`, `docker inspect`): before the StudentView's rewrite.
 */
export function showHomeBinds(scope: SessionScope, container: unknown): unknown {
  if (!container || typeof container !== "object") return container;
  const c = container as Record<string, unknown> & {
    Labels?: Record<string, string>;
    Config?: { Labels?: Record<string, string> };
    Mounts?: MountPoint[];
    HostConfig?: { Binds?: string[] | null; Mounts?: Json[] | null };
  };
  const isHome = (m: { Name?: unknown; Source?: unknown }) =>
    m.Name === scope.homeVolumeName || m.Source === scope.homeVolumeName;
  if (!(c.Mounts ?? []).some(isHome) && !(c.HostConfig?.Mounts ?? []).some(isHome)) return c;
  const binds = parseHomeBinds((c.Labels ?? c.Config?.Labels)?.[LABEL_HOME_BINDS]);
  const byTarget = new Map(binds.map((b) => [b.target, b]));
  const out: Record<string, unknown> = { ...c };
  if (Array.isArray(c.Mounts))
    out.Mounts = c.Mounts.map((m) =>
      isHome(m) ? shownMountPoint(m, byTarget.get(String(m.Destination))) : m,
    );
  if (c.HostConfig) {
    const hostMounts = (c.HostConfig.Mounts ?? []).filter((m) => !isHome(m));
    for (const b of binds)
      if (b.form === "mount")
        hostMounts.push({ Type: "bind", Source: b.source, Target: b.target, ReadOnly: b.readOnly });
    const hostBinds = [
      ...(c.HostConfig.Binds ?? []),
      ...binds
        .filter((b) => b.form === "bind")
        .map((b) => `${b.source}:${b.target}${b.readOnly ? ":ro" : ""}`),
    ];
    out.HostConfig = {
      ...c.HostConfig,
      Binds: hostBinds.length ? hostBinds : c.HostConfig.Binds,
      Mounts: hostMounts.length ? hostMounts : c.HostConfig.Mounts ? [] : c.HostConfig.Mounts,
    };
  }
  return out;
}
