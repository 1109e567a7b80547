/**
 * A private PostgreSQL cluster for tests: Debian's postgresql package, started in a temporary
 * folder (initdb + pg_ctl) on 127.0.0.1 at a free port, its unix socket in that folder too, and
 * stopped and removed afterwards. Any other PostgreSQL the machine runs is never touched.
 * As root, the server programs run as the package's `postgres` user (initdb refuses root).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
const INSTALL =
  "install Debian's PostgreSQL server: `apt-get install -y postgresql` (scripts/bootstrap.sh does it)";

export interface PostgresCluster {
  /** postgres://… for a database of the cluster (default: the maintenance database). */
  url(database?: string): string;
  /** A new empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (connections are cut, the data stays), as a database restart or outage does. */
  pause(): Promise<void>;
  /** Starts it again at the same address. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed server's programs: Debian keeps them out of PATH, under /usr/lib/postgresql/N/bin. */
function serverBinaries(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(`PostgreSQL's initdb was not found under ${root}: ${INSTALL}`);
  return join(root, versions[0], "bin");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = serverBinaries();
  const asRoot = userInfo().uid === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    const id = await run("id", ["-u", "postgres"]).catch(() => undefined);
    const gid = await run("id", ["-g", "postgres"]).catch(() => undefined);
    if (!id || !gid)
      throw new Error(`there is no postgres user to run the test database as: ${INSTALL}`);
    owner = { uid: Number(id.stdout), gid: Number(gid.stdout) };
  }
  const asOwner = (program: string, args: string[]) =>
    owner
      ? run("runuser", ["-u", "postgres", "--", join(bin, program), ...args])
      : run(join(bin, program), args);

  const dir = await mkdtemp(join(tmpdir(), "stowage-pg-"));
  if (owner) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o700);
  const data = join(dir, "data");
  const user = "stowage";
  try {
    // Trust on a loopback-only, throwaway cluster; fsync off: the data is gone afterwards anyway.
    await asOwner("initdb", ["-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? error}`);
  }
  let port = 0;
  const startServer = () =>
    asOwner("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`,
      "start",
    ]);
  const stopServer = (mode: "fast" | "immediate") =>
    asOwner("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await startServer();
      break;
    } catch (error) {
      // The port was taken between the probe and the start: another try at another port.
      if (attempt >= 3) {
        const logText = await readFile(join(dir, "log"), "utf8").catch(() => "");
        await rm(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${logText}`);
      }
    }
  }
  const url = (database = "postgres") => `postgres://${user}@127.0.0.1:${port}/${database}`;
  return {
    url,
    async createDatabase() {
      const name = `t_${randomBytes(6).toString("hex")}`;
      const admin = new pg.Client({ connectionString: url() });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    async pause() {
      await stopServer("fast");
    },
    async resume() {
      await startServer();
    },
    async stop() {
      await stopServer("immediate").catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
