/**
 * What the checks of shop-moves share: the shop project's containers (found by the labels Compose
 * sets, not by name), the compose file as Compose itself reads it (`docker compose config`), and
 * whether a container was made from the file as it is now (its config-hash label).
 */
import {
  fail,
  type CheckSession,
  type ContainerInfo,
  type HistoryEvent,
} from "../../../../sandbox/checks/api.ts";

export const PROJECT = "shop";
export const FOLDER = "~/shop-2026";

/** A mount as the engine was asked for it (HostConfig.Mounts): where nocopy and subpath show. */
export interface RequestedMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  VolumeOptions?: { NoCopy?: boolean };
}

/** The container of a service of the shop project (the newest, running or not), or undefined. */
export async function service(s: CheckSession, name: string): Promise<ContainerInfo | undefined> {
  const all = await s.containers({ all: true });
  return all
    .filter(
      (c) =>
        c.labels["com.docker.compose.project"] === PROJECT &&
        c.labels["com.docker.compose.service"] === name &&
        c.labels["com.docker.compose.oneoff"] !== "True",
    )
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
}

/** The service's container, or a failure that says how to get one. */
export async function requireService(s: CheckSession, name: string): Promise<ContainerInfo> {
  const found = await service(s, name);
  if (found) return found;
  const all = await s.containers({ all: true });
  if (all.some((c) => c.labels["com.docker.compose.project"] === PROJECT))
    throw fail(
      `The project shop runs, but has no ${name} container: docker compose up -d in ${FOLDER} starts every service of the file.`,
    );
  if (all.some((c) => c.labels["com.docker.compose.project"] === "shop-2026"))
    throw fail(
      `Compose named the project shop-2026 after its folder, so there is no ${name} of the project shop: add name: shop at the top of compose.yaml, then docker compose down and docker compose up -d.`,
    );
  throw fail(
    `There is no ${name} container of the project shop yet: add name: shop at the top of ${FOLDER}/compose.yaml and run docker compose up -d there.`,
  );
}

/* eslint-disable @typescript-eslint/no-explicit-any -- compose's own output, read defensively */
/** The compose file of ~/shop-2026 as Compose reads it (normalised, paths made absolute). */
export async function composeConfig(s: CheckSession): Promise<any> {
  const r = await s.sh(`cd ${FOLDER} && docker compose config --format json 2>&1`);
  if (r.exitCode !== 0)
    throw fail(
      `docker compose config refuses ${FOLDER}/compose.yaml: ${r.stdout.trim().split("\n").slice(-2).join(" ")}`,
    );
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw fail(
      `docker compose config printed something unexpected: run it in ${FOLDER} and read what it says.`,
    );
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Fails when the container was made from an older version of the compose file. */
export async function requireUpToDate(s: CheckSession, c: ContainerInfo, name: string) {
  const r = await s.sh(`cd ${FOLDER} && docker compose config --hash=${name} 2>/dev/null`);
  const hash = r.stdout.trim().split(/\s+/)[1];
  if (!hash || c.labels["com.docker.compose.config-hash"] !== hash)
    throw fail(
      `${c.name} was created from an older version of compose.yaml: run docker compose up -d again so it uses the file as it is now.`,
    );
}

/** The mounts the container was created with (not the ones the engine reports after the fact). */
export function requestedMounts(c: ContainerInfo): RequestedMount[] {
  const host = c.raw.HostConfig as { Mounts?: RequestedMount[] } | undefined;
  return host?.Mounts ?? [];
}

/** The `-v`-style binds the container was created with ("source:target[:options]"). */
export function binds(c: ContainerInfo): string[] {
  const host = c.raw.HostConfig as { Binds?: string[] | null } | undefined;
  return host?.Binds ?? [];
}

/**
 * Containers of a service that Compose made by recreating another one: it creates the new
 * container under a temporary name (`<old id's first 12>_shop-worker-1`) while the old one still
 * exists, then removes the old one and renames the new. `docker compose down` + `up` or `rm` +
 * `up` remove first and create under the final name.
 */
export function recreations(history: HistoryEvent[], name: string) {
  const out: { oldId: string; newId: string; time: number }[] = [];
  for (const e of history) {
    if (e.type !== "container" || e.action !== "create") continue;
    const m = /^([0-9a-f]{12})_(.+)$/.exec(e.name ?? "");
    if (!m || m[2] !== `${PROJECT}-${name}-1`) continue;
    const old = history.find(
      (o) => o.type === "container" && o.action === "create" && o.id.startsWith(m[1]!),
    );
    if (old) out.push({ oldId: old.id, newId: e.id, time: e.time });
  }
  return out;
}
