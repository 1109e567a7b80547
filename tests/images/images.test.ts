/**
 * The course images keep the official images' interfaces (what a lesson asks students to type
 * must work here and at home). Runs against the real Docker engine; every container and network
 * a test creates is removed by that test.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  COURSE_IMAGES,
  COURSE_IMAGE_REFS,
  NOTES_IMAGE,
  RECIPE_HASH_LABEL,
  WORKSTATION_IMAGE,
  findCourseImage,
  imageRef,
  imageRefs,
} from "../../sandbox/images/catalog.ts";
import {
  ImageBuildError,
  ensureImages,
  recipeHash,
  recipeParents,
} from "../../sandbox/images/build.ts";
import { loadSetting } from "../../sandbox/config.ts";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function docker(args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      "docker",
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
  });
}

/** Runs docker and fails the test with docker's own words when it exits non-zero. */
async function ok(args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0)
    throw new Error(`docker ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const suffix = randomBytes(4).toString("hex");
const created: { containers: string[]; networks: string[] } = { containers: [], networks: [] };

function name(what: string): string {
  return `stowage-imgtest-${what}-${suffix}`;
}

async function container(what: string, args: string[]): Promise<string> {
  const n = name(what);
  created.containers.push(n);
  await ok(["run", "-d", "--name", n, "--label", "stowage.test=images", ...args]);
  return n;
}

async function network(what: string): Promise<string> {
  const n = name(what);
  created.networks.push(n);
  await ok(["network", "create", "--label", "stowage.test=images", n]);
  return n;
}

/** A one-off container (removed when it exits). */
function runOnce(args: string[], timeoutMs?: number): Promise<Result> {
  return docker(["run", "--rm", "--label", "stowage.test=images", ...args], timeoutMs);
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Drops carriage returns, colour codes and readline's \\[ \\] markers from a tty's output. */
function stripTerminalCodes(text: string): string {
  /* eslint-disable no-control-regex -- these are exactly the control characters to remove */
  return text
    .replace(/\r/g, "")
    .replace(/\x1b\[[0-9;]*m/g, "")
    .replace(/\x01|\x02/g, "");
  /* eslint-enable no-control-regex */
}

afterEach(async () => {
  for (const c of created.containers.splice(0)) await docker(["rm", "-f", "-v", c]);
  for (const n of created.networks.splice(0)) await docker(["network", "rm", n]);
});

beforeAll(async () => {
  await ensureImages();
}, 1_200_000);

describe("catalog and builder", () => {
  it("lists every image with a recipe, and each recipe builds FROM course images only", async () => {
    expect(COURSE_IMAGE_REFS).toEqual(
      expect.arrayContaining([
        "busybox:latest",
        "debian:bookworm-slim",
        "debian:bookworm",
        "debian:latest",
        "debian:trixie-slim",
        "debian:trixie",
        "postgres:15",
        "postgres:15-bookworm",
        "nginx:latest",
        NOTES_IMAGE,
        WORKSTATION_IMAGE,
      ]),
    );
    for (const image of COURSE_IMAGES) {
      expect(
        existsSync(
          new URL(`../../sandbox/images/recipes/${image.recipe}/Dockerfile`, import.meta.url),
        ),
        image.recipe,
      ).toBe(true);
      for (const parent of await recipeParents(image))
        expect(COURSE_IMAGES.indexOf(parent)).toBeLessThan(COURSE_IMAGES.indexOf(image));
    }
    expect(findCourseImage("busybox")?.name).toBe("busybox");
    expect(findCourseImage("docker.io/library/debian:bookworm")?.tag).toBe("bookworm-slim");
    expect(findCourseImage("ubuntu")).toBeUndefined();
  });

  it("a second run builds nothing: every image carries its recipe hash and every tag points at it", async () => {
    const results = await ensureImages({ progress: null });
    expect(results.map((r) => r.action)).toEqual(COURSE_IMAGES.map(() => "cached"));
    const hashes = new Map<string, string>();
    for (const image of COURSE_IMAGES) {
      // By reference: debian:bookworm-slim and debian:trixie-slim share a name.
      const parents = (await recipeParents(image)).map((p) => hashes.get(imageRef(p))!);
      const hash = await recipeHash(image, parents);
      hashes.set(imageRef(image), hash);
      const ids = new Set<string>();
      for (const ref of imageRefs(image)) {
        const [id, label] = (
          await ok([
            "image",
            "inspect",
            "--format",
            `{{.Id}} {{index .Config.Labels "${RECIPE_HASH_LABEL}"}}`,
            ref,
          ])
        )
          .trim()
          .split(" ");
        ids.add(id!);
        if (loadSetting("imageSource") !== "pull" || !image.pullable) expect(label, ref).toBe(hash);
      }
      expect(ids.size, `tags of ${image.name}`).toBe(1);
    }
  });

  it("fails with a message naming the image, the step and its output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stowage-recipes-"));
    try {
      cpSync(fileURLToPath(new URL("../../sandbox/images/recipes", import.meta.url)), dir, {
        recursive: true,
      });
      writeFileSync(
        join(dir, "notes", "Dockerfile"),
        `FROM debian:bookworm-slim\nRUN echo "about to fail ${suffix}" && exit 3\nLABEL never=reached\n`,
      );
      const error = await ensureImages({
        only: ["stowage/notes"],
        recipesDir: dir,
        progress: null,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ImageBuildError);
      const message = (error as Error).message;
      expect(message).toMatch(/^building stowage\/notes:latest failed at step 2\/5 \(RUN echo/);
      expect(message).toContain("returned a non-zero code: 3");
      expect(message).toContain(`about to fail ${suffix}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("busybox", () => {
  it("has a shell and the small tools", async () => {
    const r = await runOnce([
      "busybox",
      "sh",
      "-c",
      "echo hi | gzip | gunzip; for c in tar cat nc sleep wc ls; do command -v $c >/dev/null || echo missing $c; done",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
  });

  it("archives a folder with tar as the lessons do", async () => {
    const r = await runOnce([
      "busybox",
      "sh",
      "-c",
      "mkdir -p /d && echo x > /d/f && tar czf /tmp/b.tgz -C /d . && tar tzf /tmp/b.tgz | sort",
    ]);
    expect(r.stdout.split("\n")).toContain("./f");
  });
});

describe("debian", () => {
  it("is Debian 12 with bash as the command, under three tags", async () => {
    const r = await runOnce(["debian:bookworm-slim", "cat", "/etc/debian_version"]);
    expect(r.stdout).toMatch(/^12\.\d+\n$/);
    expect(
      (await ok(["image", "inspect", "--format", "{{json .Config.Cmd}}", "debian:latest"])).trim(),
    ).toBe('["bash"]');
    const ids = await Promise.all(
      ["debian:bookworm-slim", "debian:bookworm", "debian:latest"].map((ref) =>
        ok(["image", "inspect", "--format", "{{.Id}}", ref]),
      ),
    );
    expect(new Set(ids).size).toBe(1);
  });

  it("debian:trixie-slim is Debian 13 with Debian 13's sources, also tagged debian:trixie", async () => {
    const r = await runOnce([
      "debian:trixie",
      "sh",
      "-c",
      "cat /etc/debian_version; grep -h '^Suites' /etc/apt/sources.list.d/debian.sources",
    ]);
    expect(r.stdout).toMatch(/^13\.\d+\nSuites: trixie trixie-updates\nSuites: trixie-security\n$/);
    const ids = await Promise.all(
      ["debian:trixie-slim", "debian:trixie"].map((ref) =>
        ok(["image", "inspect", "--format", "{{.Id}}", ref]),
      ),
    );
    expect(new Set(ids).size).toBe(1);
  });
});

describe("postgres:15", () => {
  it("initialises the data directory from POSTGRES_* and serves as uid 999", async () => {
    const net = await network("pg");
    const pg = await container("pg", [
      "--network",
      net,
      "--network-alias",
      "db",
      "-e",
      "POSTGRES_PASSWORD=s3cret",
      "-e",
      "POSTGRES_USER=shop",
      "-e",
      "POSTGRES_DB=orders",
      "postgres:15",
    ]);
    await waitFor(
      "postgres to be ready",
      async () => {
        const logs = await docker(["logs", pg]);
        const text = logs.stdout + logs.stderr;
        if (
          /init process complete/.test(text) &&
          /database system is ready to accept connections[\s\S]*database system is ready to accept connections/.test(
            text,
          )
        )
          return true;
        const state = (
          await docker(["inspect", "--format", "{{.State.Running}}", pg])
        ).stdout.trim();
        if (state === "false") throw new Error(`postgres exited:\n${text}`);
        return undefined;
      },
      60_000,
    );

    const db = await ok([
      "exec",
      pg,
      "psql",
      "-U",
      "shop",
      "-d",
      "orders",
      "-tAc",
      "select current_user || ' ' || current_database()",
    ]);
    expect(db.trim()).toBe("shop orders");
    // The server process (pid 1 after exec) runs as postgres, uid 999.
    const status = await ok(["exec", pg, "cat", "/proc/1/status"]);
    expect(status).toMatch(/^Uid:\s+999\s+999/m);
    expect(await ok(["exec", pg, "id", "-u", "postgres"])).toBe("999\n");
    expect(
      await ok([
        "exec",
        pg,
        "stat",
        "-c",
        "%u %a",
        "/var/lib/postgresql/data",
        "/var/lib/postgresql/data/PG_VERSION",
      ]),
    ).toBe("999 700\n999 600\n");
    const mounts = await ok([
      "inspect",
      "--format",
      "{{range .Mounts}}{{.Destination}}{{end}}",
      pg,
    ]);
    expect(mounts.trim()).toBe("/var/lib/postgresql/data");

    // Over the network with the password (listens on 0.0.0.0, password auth), and refused without it.
    const remote = await runOnce([
      "--network",
      net,
      "-e",
      "PGPASSWORD=s3cret",
      "postgres:15",
      "psql",
      "-h",
      "db",
      "-U",
      "shop",
      "-d",
      "orders",
      "-tAc",
      "create table t (x int); insert into t values (42); select x from t",
    ]);
    expect(remote.stderr).toBe("");
    expect(remote.stdout.trim().split("\n").pop()).toBe("42");
    const wrong = await runOnce([
      "--network",
      net,
      "-e",
      "PGPASSWORD=nope",
      "postgres:15",
      "psql",
      "-h",
      "db",
      "-U",
      "shop",
      "-d",
      "orders",
      "-c",
      "select 1",
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed/);
  });

  it("refuses to start without a password, runs init scripts, and keeps data in the volume", async () => {
    const bare = await runOnce(["postgres:15"]);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toMatch(/superuser password is not specified/);

    // Init scripts are copied in before the first start, as a derived image would ADD them.
    const pg = name("pginit");
    created.containers.push(pg);
    await ok([
      "create",
      "--name",
      pg,
      "--label",
      "stowage.test=images",
      "-e",
      "POSTGRES_HOST_AUTH_METHOD=trust",
      "postgres:15",
      "-c",
      "max_connections=50",
    ]);
    const initDir = mkdtempSync(join(tmpdir(), "stowage-initdb-"));
    try {
      writeFileSync(
        join(initDir, "10-schema.sql"),
        "create table seeded (word text); insert into seeded values ('from-sql');\n",
      );
      writeFileSync(
        join(initDir, "20-more.sh"),
        'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -c "insert into seeded values (\'from-sh\')"\n',
      );
      await ok(["cp", `${initDir}/.`, `${pg}:/docker-entrypoint-initdb.d/`]);
    } finally {
      rmSync(initDir, { recursive: true, force: true });
    }
    await ok(["start", pg]);
    await waitFor(
      "postgres to be ready",
      async () =>
        (await docker(["exec", pg, "pg_isready", "-h", "127.0.0.1"])).code === 0 &&
        /init process complete/.test((await docker(["logs", pg])).stdout)
          ? true
          : undefined,
      60_000,
    );
    expect(
      (await ok(["exec", pg, "psql", "-U", "postgres", "-tAc", "show max_connections"])).trim(),
    ).toBe("50");
    expect(
      await ok([
        "exec",
        pg,
        "psql",
        "-U",
        "postgres",
        "-tAc",
        "select word from seeded order by word",
      ]),
    ).toBe("from-sh\nfrom-sql\n");
    expect(await ok(["logs", pg])).toMatch(
      /running \/docker-entrypoint-initdb\.d\/10-schema\.sql[\s\S]*sourcing \/docker-entrypoint-initdb\.d\/20-more\.sh/,
    );
    expect((await ok(["exec", pg, "sh", "-c", "echo $PGDATA"])).trim()).toBe(
      "/var/lib/postgresql/data",
    );
  });
});

describe("nginx", () => {
  it("serves its index on port 80 and logs requests to stdout", async () => {
    const net = await network("web");
    const web = await container("web", ["--network", net, "--network-alias", "web", "nginx"]);
    const body = await waitFor("nginx to answer", async () => {
      const r = await runOnce([
        "--network",
        net,
        WORKSTATION_IMAGE,
        "curl",
        "-sS",
        "--fail",
        "http://web/",
      ]);
      return r.code === 0 ? r.stdout : undefined;
    });
    expect(body).toContain("<h1>Welcome to nginx!</h1>");
    const logs = await ok(["logs", web]);
    expect(logs).toMatch(/"GET \/ HTTP\/1\.1" 200/);
    expect(
      await ok([
        "exec",
        web,
        "sh",
        "-c",
        "ls /etc/nginx/conf.d; grep -c 'include /etc/nginx/conf.d/\\*.conf' /etc/nginx/nginx.conf",
      ]),
    ).toBe("default.conf\n1\n");
    expect(
      (await ok(["image", "inspect", "--format", "{{json .Config.Cmd}}", "nginx:latest"])).trim(),
    ).toBe('["nginx","-g","daemon off;"]');
  });
});

describe("stowage/notes", () => {
  it("adds and lists entries, stores uploads, keeps rows in /data/app.db", async () => {
    const net = await network("notes");
    const notes = await container("notes", [
      "--network",
      net,
      "--network-alias",
      "notes",
      NOTES_IMAGE,
    ]);
    const client = (script: string): Promise<Result> =>
      runOnce(["--network", net, WORKSTATION_IMAGE, "bash", "-c", script]);
    await waitFor("notes to answer /health", async () =>
      (await client("curl -sS --fail http://notes:8000/health")).code === 0 ? true : undefined,
    );

    const added = await client("curl -sS --fail -d 'text=milk and eggs' http://notes:8000/entries");
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 1, text: "milk and eggs" });
    const listed = JSON.parse(
      (await client("curl -sS --fail http://notes:8000/api/entries")).stdout,
    ) as { text: string }[];
    expect(listed.map((e) => e.text)).toEqual(["milk and eggs"]);

    const upload = await client(
      "echo 'my photo' > /tmp/photo.txt && curl -sS --fail -F file=@/tmp/photo.txt http://notes:8000/upload && curl -sS --fail http://notes:8000/uploads/photo.txt && curl -sS --fail http://notes:8000/",
    );
    expect(upload.stderr).toBe("");
    expect(upload.stdout).toContain('"name": "photo.txt"');
    expect(upload.stdout).toContain("my photo\n");
    expect(upload.stdout).toContain('<a href="/uploads/photo.txt">photo.txt</a>');
    expect(upload.stdout).toContain("milk and eggs");

    expect(await ok(["exec", notes, "sqlite3", "/data/app.db", "select text from entries"])).toBe(
      "milk and eggs\n",
    );
    expect(await ok(["exec", notes, "cat", "/app/uploads/photo.txt"])).toBe("my photo\n");
    const logs = await ok(["logs", notes]);
    expect(logs).toMatch(/"POST \/entries HTTP\/1\.1" 201/);
    expect(
      (await ok(["image", "inspect", "--format", "{{json .Config.Volumes}}", NOTES_IMAGE])).trim(),
    ).toBe("null");
  });

  it("honours DATABASE_PATH and UPLOAD_DIR, creating missing folders", async () => {
    const notes = await container("notes-env", [
      "-e",
      "DATABASE_PATH=/srv/db/notes.sqlite",
      "-e",
      "UPLOAD_DIR=/srv/files",
      NOTES_IMAGE,
    ]);
    await waitFor("notes to start", async () =>
      /listening/.test((await docker(["logs", notes])).stdout) ? true : undefined,
    );
    expect(
      await ok([
        "exec",
        notes,
        "sh",
        "-c",
        "test -f /srv/db/notes.sqlite && test -d /srv/files && sqlite3 /srv/db/notes.sqlite .tables",
      ]),
    ).toBe("entries\n");
  });
});

describe("stowage/workstation", () => {
  const readOnly = ["--read-only", "--tmpfs", "/tmp", "--hostname", "stowage"];

  it("runs as student with a read-only root and has the course's tools", async () => {
    const script = [
      "id -u; id -g; echo $HOME",
      "docker --version",
      "docker compose version",
      "docker-compose version --short",
      "for c in vi nano less tar gzip curl jq sqlite3 ps ip; do command -v $c >/dev/null || echo missing $c; done",
      "for c in dockerd containerd runc docker-proxy ctr containerd-shim-runc-v2; do command -v $c && echo present $c; done",
      "vi --version | head -1",
      "readlink /var/run/docker.sock",
      'echo "DOCKER_HOST=${DOCKER_HOST-unset}"',
      "touch /etc/x 2>/dev/null && echo rootfs writable",
      "touch /tmp/x && echo tmp ok",
      "echo hello | gzip | gunzip",
      "docker buildx version",
      "readlink -f /usr/bin/docker-compose",
    ].join("; ");
    const r = await runOnce([...readOnly, WORKSTATION_IMAGE, "bash", "-lc", script]);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual(["1000", "1000", "/home/student"]);
    // Debian 13's CLI 26, Compose v2 as the plugin, `docker-compose` the same binary, buildx.
    expect(r.stdout).toMatch(/^Docker version 26\.\d+\.\d+/m);
    expect(r.stdout).toMatch(/^Docker Compose version v?2\.\d+/m);
    expect(r.stdout).toMatch(/^2\.\d+\.\d+/m);
    expect(r.stdout).toMatch(/^github\.com\/docker\/buildx 0\.\d+/m);
    expect(r.stdout).toContain("/usr/libexec/docker/cli-plugins/docker-compose\n");
    expect(r.stdout).not.toMatch(/missing|present|rootfs writable/);
    expect(r.stdout).toMatch(/^VIM - Vi IMproved/m);
    expect(r.stdout).toContain("/run/stowage/docker.sock\nDOCKER_HOST=unset\n");
    expect(r.stdout).toContain("tmp ok\nhello\n");
    expect(
      (
        await ok([
          "image",
          "inspect",
          "--format",
          "{{json .Config.Cmd}} {{.Config.User}}",
          WORKSTATION_IMAGE,
        ])
      ).trim(),
    ).toBe('["sleep","infinity"] student');
  });

  it("gives an interactive shell the prompt, the welcome and docker completion", async () => {
    const script = 'echo "PROMPT[${PS1@P}]"; __load_completion docker && complete -p docker';
    const r = await runOnce([
      "-t",
      ...readOnly,
      "--tmpfs",
      "/home/student:uid=1000,gid=1000",
      WORKSTATION_IMAGE,
      "bash",
      "-lic",
      script,
    ]);
    const out = stripTerminalCodes(r.stdout);
    expect(out).toContain("Welcome to your Stowage sandbox");
    expect(out).toContain("PROMPT[student@stowage:~$ ]");
    expect(out).toMatch(/^complete -F _docker docker$/m);
    expect(out.match(/Welcome to your Stowage sandbox/g)).toHaveLength(1);
  });

  it("reaches the engine through /run/stowage/docker.sock with docker and docker compose", async () => {
    // A bind source is a path on the engine's machine, which may not be this one (DOCKER_HOST):
    // the socket's group is read there too, so the test runs the same against a remote engine.
    const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
    const socket = host.startsWith("unix://")
      ? host.slice("unix://".length)
      : "/var/run/docker.sock";
    const gid = Number(
      (
        await ok([
          "run",
          "--rm",
          "--userns=host",
          "-v",
          `${socket}:/engine.sock:ro`,
          "busybox",
          "stat",
          "-c",
          "%g",
          "/engine.sock",
        ])
      ).trim(),
    );
    expect(Number.isInteger(gid)).toBe(true);
    // Without user-namespace remapping for this one container, uid 1000 + the socket's group may use it.
    const script =
      "docker version --format '{{.Server.APIVersion}}' && cd /tmp && printf 'services:\\n  a:\\n    image: busybox\\n' > docker-compose.yml && docker compose config --services && docker compose ps";
    const r = await runOnce([
      "--userns=host",
      // With --userns=host the image's /home/student (0700) belongs to the remapped uid, and CLI 26
      // finds no plugins when it cannot read $HOME/.docker: a home it can read, as in a session.
      "-e",
      "HOME=/tmp",
      "--group-add",
      String(gid),
      ...readOnly,
      "-v",
      `${socket}:/run/stowage/docker.sock`,
      WORKSTATION_IMAGE,
      "bash",
      "-c",
      script,
    ]);
    expect(r.stderr).toBe("");
    const [api, service] = r.stdout.split("\n");
    expect(Number(api!.split(".")[1])).toBeGreaterThanOrEqual(41);
    expect(service).toBe("a");
    expect(r.stdout).toMatch(/NAME\s+IMAGE\s+COMMAND\s+SERVICE/); // Compose v2's ps
    expect(r.code).toBe(0);
  });
});
