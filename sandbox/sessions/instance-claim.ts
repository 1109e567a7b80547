/**
 * One server per port, per data folder and per instance name on an engine, checked before the
 * leftover cleanup: that cleanup removes every container, volume and network labelled with the
 * instance, and every session folder in the data folder, so a second server started beside a
 * live one (`npm run dev` next to `npm start`, a second `npm start`) would otherwise end every
 * session of the first.
 *
 * - the port: probed before anything else;
 * - the data folder: a lock file `server.lock` (pid, the process's start time, port, instance);
 *   it is stale when that process is gone (a crash, kill -9), and then taken over;
 * - the engine: a marker volume `stowage-instance-<name>` whose labels say which process on
 *   which host holds the name, for servers that share an engine but not a data folder.
 */
import { createServer } from "node:net";
import { readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import type { Logger } from "../log.ts";

/** Another live server holds the port, the data folder or the instance name: the server refuses to start. */
export class InstanceInUseError extends Error {}

/** What a claim records: enough to tell a live holder from a dead one, and to name it. */
interface Holder {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat): a reused pid is not the holder. */
  started: string;
  hostname: string;
  port: number;
  instance: string;
  dataDir: string;
}

export const LABEL_LOCK = "stowage.instance-lock";
const HOW_TO_RUN_BESIDE =
  "to run a second server beside it, give it its own port, instance and data folder (e.g. STOWAGE_PORT=4331 STOWAGE_INSTANCE=preview STOWAGE_DATA_DIR=.data-preview; `npm run dev` uses instance dev and .data-dev)";

async function processStart(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // Field 22; the command name (field 2) may hold spaces and parentheses: count after the last ")".
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** The holder's process still runs on this machine (the same pid and the same start time). */
async function holderAlive(holder: Partial<Holder>): Promise<boolean> {
  if (!holder.pid || holder.hostname !== hostname()) return false;
  const started = await processStart(holder.pid);
  return started !== undefined && started === holder.started;
}

function describeHolder(holder: Partial<Holder>): string {
  return `pid ${holder.pid ?? "?"}${holder.hostname && holder.hostname !== hostname() ? ` on ${holder.hostname}` : ""}, port ${holder.port ?? "?"}, instance "${holder.instance ?? "?"}", data folder ${holder.dataDir ?? "?"}`;
}

/** Refuses when something already listens on the port (port 0 picks a free one: nothing to check). */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE")
        reject(
          new InstanceInUseError(
            `port ${port} on ${host} is already in use (another Stowage server?), so this one did not start and removed nothing; ${HOW_TO_RUN_BESIDE}`,
          ),
        );
      else reject(error);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export interface InstanceClaim {
  release(): Promise<void>;
}

/** Claims the data folder and the instance name on the engine, or refuses naming who holds them. */
export async function claimInstance(options: {
  docker: Docker;
  dataDir: string;
  instance: string;
  port: number;
  log: Logger;
}): Promise<InstanceClaim> {
  const started = await processStart(process.pid);
  const me: Holder = {
    pid: process.pid,
    started: started ?? "",
    hostname: hostname(),
    port: options.port,
    instance: options.instance,
    dataDir: options.dataDir,
  };

  const lockPath = join(options.dataDir, "server.lock");
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockPath, JSON.stringify(me), { flag: "wx", mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error;
      const holder = JSON.parse(
        (await readFile(lockPath, "utf8").catch(() => "")) || "{}",
      ) as Partial<Holder>;
      if (await holderAlive(holder)) {
        throw new InstanceInUseError(
          `the data folder ${options.dataDir} is in use by a running Stowage server (${describeHolder(holder)}), so this one did not start and removed nothing; ${HOW_TO_RUN_BESIDE}`,
        );
      }
      options.log.info({ holder }, "taking over the data folder from a server that is gone");
      await rm(lockPath, { force: true });
    }
  }

  const marker = `stowage-instance-${options.instance}`;
  const releaseFile = () => rm(lockPath, { force: true });
  try {
    const existing = await options.docker
      .getVolume(marker)
      .inspect()
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode === 404) return undefined;
        throw error;
      });
    if (existing) {
      const labels = existing.Labels ?? {};
      const holder: Partial<Holder> = {
        pid: Number(labels["stowage.lock.pid"]),
        started: labels["stowage.lock.started"],
        hostname: labels["stowage.lock.hostname"],
        port: Number(labels["stowage.lock.port"]),
        instance: options.instance,
        dataDir: labels["stowage.lock.data-dir"],
      };
      if (holder.hostname !== hostname()) {
        throw new InstanceInUseError(
          `the instance name "${options.instance}" is held on this Docker engine by a server on another machine (${describeHolder(holder)}), so this one did not start and removed nothing; ${HOW_TO_RUN_BESIDE} (if that server is gone for good: docker volume rm ${marker})`,
        );
      }
      if (await holderAlive(holder)) {
        throw new InstanceInUseError(
          `the instance name "${options.instance}" is in use on this Docker engine by a running Stowage server (${describeHolder(holder)}), so this one did not start and removed nothing; ${HOW_TO_RUN_BESIDE}`,
        );
      }
      await options.docker.getVolume(marker).remove();
    }
    await options.docker.createVolume({
      Name: marker,
      Labels: {
        [LABEL_LOCK]: options.instance,
        "stowage.lock.pid": String(me.pid),
        "stowage.lock.started": me.started,
        "stowage.lock.hostname": me.hostname,
        "stowage.lock.port": String(me.port),
        "stowage.lock.data-dir": me.dataDir,
      },
    });
  } catch (error) {
    if (error instanceof InstanceInUseError) {
      await releaseFile();
      throw error;
    }
    // No engine to ask (it is down at start): the data folder's lock still stands; the cleanup
    // that needs the engine does not run either.
    options.log.warn(
      { err: (error as Error).message },
      "the instance name could not be claimed on the engine",
    );
    return { release: releaseFile };
  }
  return {
    async release() {
      await options.docker
        .getVolume(marker)
        .remove()
        .catch(() => undefined);
      await releaseFile();
    },
  };
}
