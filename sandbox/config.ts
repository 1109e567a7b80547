import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { parseEngineList } from "./naming/engine-addresses.ts";

/**
 * Every setting of the server, read once from the environment and validated here.
 * Names are STOWAGE_* except DOCKER_HOST, which names the engine as the docker CLI does.
 */
/** `value` as a URL, or undefined when it is none (the settings that take one name what is wrong). */
function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const ConfigSchema = z.object({
  port: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(4321)
    .describe("STOWAGE_PORT: the HTTP port of the site, API and WebSockets (0 picks a free one)"),
  host: z
    .string()
    .default("127.0.0.1")
    .describe("STOWAGE_HOST: the address to listen on (0.0.0.0 to serve a class on the network)"),
  dockerHost: z
    .string()
    .default("unix:///var/run/docker.sock")
    .describe("DOCKER_HOST: the Docker engine sessions run on (unix:///path or tcp://host:port)"),
  engines: z
    .string()
    .optional()
    .describe(
      "STOWAGE_ENGINES: more engines for sessions beside DOCKER_HOST's, comma-separated DOCKER_HOST-style addresses with ?name=, ?subnets=, ?drain=1 and (tcp) ?tls=DIR options (naming/engine-addresses.ts, docs/decisions/engines.md)",
    ),
  dataDir: z
    .string()
    .default(resolve(".data"))
    .describe(
      "STOWAGE_DATA_DIR: where workspaces, proxy sockets and the progress database live; must be on the engine's host",
    ),
  lessonsDir: z
    .string()
    .default(resolve("lessons"))
    .describe("STOWAGE_LESSONS_DIR: the course's lesson folders (checks are read from here)"),
  siteDir: z
    .string()
    .default(resolve("dist"))
    .describe("STOWAGE_SITE_DIR: the built site to serve"),
  instance: z
    .string()
    .regex(/^[a-z0-9-]{1,20}$/)
    .default("main")
    .describe(
      "STOWAGE_INSTANCE: labels this server's objects, so cleanup on start removes only its own leftovers",
    ),
  idleTimeoutSeconds: z.coerce
    .number()
    .int()
    .min(10)
    .default(30 * 60)
    .describe(
      "STOWAGE_IDLE_TIMEOUT: seconds without terminal input or API use before a session ends",
    ),
  maxLifetimeSeconds: z.coerce
    .number()
    .int()
    .min(30)
    .default(2 * 60 * 60)
    .describe("STOWAGE_MAX_LIFETIME: seconds after which a session ends regardless"),
  maxSessions: z.coerce
    .number()
    .int()
    .min(1)
    .default(300)
    .describe("STOWAGE_MAX_SESSIONS: concurrent sessions on this server"),
  poolSize: z.coerce
    .number()
    .int()
    .min(0)
    .max(50)
    .default(2)
    .describe(
      "STOWAGE_POOL_SIZE: ready sessions kept warm, so a new student gets a prompt at once",
    ),
  stopEndsSessions: z
    .union([z.boolean(), z.stringbool()])
    .default(false)
    .describe(
      "STOWAGE_STOP_ENDS_SESSIONS: true ends every sandbox when the server stops (SIGTERM, SIGINT); by default they stay on the engine and the next start adopts them",
    ),
  diskQuotaMb: z.coerce
    .number()
    .int()
    .min(10)
    .default(1024)
    .describe(
      "STOWAGE_DISK_QUOTA_MB: disk one session may use in its home and volumes before its writing containers are paused",
    ),
  sessionMemoryMb: z.coerce
    .number()
    .int()
    .min(64)
    .default(1024)
    .describe(
      "STOWAGE_SESSION_MEMORY_MB: memory all of one session's containers may use together (each is also capped at 256 MiB)",
    ),
  sessionCpus: z.coerce
    .number()
    .min(0.1)
    .max(64)
    .default(1.5)
    .describe(
      "STOWAGE_SESSION_CPUS: CPU all of one session's containers may use together, in cores",
    ),
  sessionPids: z.coerce
    .number()
    .int()
    .min(32)
    .default(512)
    .describe("STOWAGE_SESSION_PIDS: processes all of one session's containers may run together"),
  engineStarts: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.max(1, Math.min(8, Math.floor(availableParallelism() / 2))))
    .describe(
      "STOWAGE_ENGINE_STARTS: container starts the engine is asked to do at once across all sessions (default: one per two cores, at most 8; docs/benchmarks.md has 1 against 2 on two cores); more wait their turn, session by session, so a class's docker run loops cannot crowd out everyone's terminal",
    ),
  sessionSubnets: z
    .string()
    .default("10.213.0.0/16")
    .describe(
      "STOWAGE_SESSION_SUBNETS: the address range sandbox networks take /26 subnets from (the engine's default pools hold only ~30 networks)",
    ),
  createPerMinute: z.coerce
    .number()
    .int()
    .min(1)
    .default(12)
    .describe(
      "STOWAGE_CREATE_PER_MINUTE: new sandboxes per client address per minute for anonymous visitors (class members are bounded by their class's seats instead; docs/rate-limits.md)",
    ),
  anonymousPerAddress: z.coerce
    .number()
    .int()
    .min(1)
    .default(30)
    .describe(
      "STOWAGE_ANONYMOUS_PER_ADDRESS: sandboxes anonymous visitors from one address may hold at once (docs/rate-limits.md)",
    ),
  classWarmLeadSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .default(300)
    .describe(
      "STOWAGE_CLASS_WARM_LEAD_SECONDS: how long before a class's start time its sandboxes are warmed",
    ),
  databaseUrl: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const url = parsedUrl(value);
      if (!url || !["postgres:", "postgresql:"].includes(url.protocol) || !url.pathname.slice(1)) {
        ctx.addIssue({
          code: "custom",
          // The value may hold a password: the message names its scheme only.
          message: `expected a PostgreSQL URL like postgres://stowage:PASSWORD@db.example.org:5432/stowage (scheme postgres:, a host and a database name), got ${url ? `a ${url.protocol} URL${url.pathname.slice(1) ? "" : " without a database name"}` : "something that is not a URL"}`,
        });
        return z.NEVER;
      }
      return value;
    })
    .describe(
      "STOWAGE_DATABASE_URL: PostgreSQL for the platform's state (progress, learners, classes, session owners), e.g. postgres://stowage:PASSWORD@db.example.org/stowage; unset keeps it in SQLite, progress.sqlite in the data folder (docs/database.md)",
    ),
  instructorToken: z
    .string()
    .min(16)
    .optional()
    .describe("STOWAGE_INSTRUCTOR_TOKEN: bearer token for the instructor view; unset disables it"),
  publicOrigin: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const url = parsedUrl(value);
      if (
        !url ||
        !["http:", "https:"].includes(url.protocol) ||
        url.pathname !== "/" ||
        url.search ||
        url.hash ||
        url.username ||
        url.password
      ) {
        ctx.addIssue({
          code: "custom",
          message: `expected an origin like https://class.example.org or http://10.0.0.5:4321 (scheme, host and port only), got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      return url.origin;
    })
    .describe(
      "STOWAGE_PUBLIC_ORIGIN: the address students' browsers use for the site, e.g. https://class.example.org; terminals and API changes are accepted only from it (default: the server's own address: http://127.0.0.1:PORT and http://localhost:PORT, or every interface's address when listening on 0.0.0.0)",
    ),
  allowedOrigins: z
    .string()
    .optional()
    .describe(
      "STOWAGE_ALLOWED_ORIGINS: comma-separated extra Origins allowed to open terminals and change things through the API (the public origin is always allowed)",
    ),
  trustProxy: z
    .union([z.boolean(), z.stringbool()])
    .default(false)
    .describe(
      "STOWAGE_TRUST_PROXY: true when a reverse proxy in front sets X-Forwarded-For; the rate limits then count its first address instead of the socket's",
    ),
  logLevel: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("STOWAGE_LOG_LEVEL: the server log's level (default info; warn under vitest)"),
  imageSource: z
    .enum(["build", "pull"])
    .default("build")
    .describe(
      "STOWAGE_IMAGE_SOURCE: build the course's busybox, debian, postgres and nginx from Debian packages, or pull the official ones (the stowage/* images are always built)",
    ),
});

/** The engine list is checked with the rest, so a bad entry stops the start naming it. */
const CheckedConfigSchema = ConfigSchema.superRefine((config, ctx) => {
  try {
    parseEngineList(config);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      path: [(error as { setting?: string }).setting ?? "engines"],
      message: (error as Error).message,
    });
  }
});

export type Config = z.infer<typeof ConfigSchema>;

/** Each setting's value in the environment (an empty variable counts as unset). */
function fromEnv(env: NodeJS.ProcessEnv): Record<keyof Config, string | undefined> {
  const read = (name: string) => env[name] || undefined;
  return {
    port: read("STOWAGE_PORT"),
    host: read("STOWAGE_HOST"),
    dockerHost: read("DOCKER_HOST"),
    engines: read("STOWAGE_ENGINES"),
    dataDir: read("STOWAGE_DATA_DIR"),
    siteDir: read("STOWAGE_SITE_DIR"),
    lessonsDir: read("STOWAGE_LESSONS_DIR"),
    instance: read("STOWAGE_INSTANCE"),
    idleTimeoutSeconds: read("STOWAGE_IDLE_TIMEOUT"),
    maxLifetimeSeconds: read("STOWAGE_MAX_LIFETIME"),
    maxSessions: read("STOWAGE_MAX_SESSIONS"),
    createPerMinute: read("STOWAGE_CREATE_PER_MINUTE"),
    anonymousPerAddress: read("STOWAGE_ANONYMOUS_PER_ADDRESS"),
    classWarmLeadSeconds: read("STOWAGE_CLASS_WARM_LEAD_SECONDS"),
    poolSize: read("STOWAGE_POOL_SIZE"),
    stopEndsSessions: read("STOWAGE_STOP_ENDS_SESSIONS"),
    sessionSubnets: read("STOWAGE_SESSION_SUBNETS"),
    engineStarts: read("STOWAGE_ENGINE_STARTS"),
    diskQuotaMb: read("STOWAGE_DISK_QUOTA_MB"),
    sessionMemoryMb: read("STOWAGE_SESSION_MEMORY_MB"),
    sessionCpus: read("STOWAGE_SESSION_CPUS"),
    sessionPids: read("STOWAGE_SESSION_PIDS"),
    databaseUrl: read("STOWAGE_DATABASE_URL"),
    instructorToken: read("STOWAGE_INSTRUCTOR_TOKEN"),
    publicOrigin: read("STOWAGE_PUBLIC_ORIGIN"),
    allowedOrigins: read("STOWAGE_ALLOWED_ORIGINS"),
    trustProxy: read("STOWAGE_TRUST_PROXY"),
    logLevel: read("STOWAGE_LOG_LEVEL") ?? (env.VITEST ? "warn" : undefined),
    imageSource: read("STOWAGE_IMAGE_SOURCE"),
  };
}

function invalid(error: z.ZodError, path: readonly PropertyKey[] = []): Error {
  const issue = error.issues[0]!;
  const key = [...path, ...issue.path].join(".");
  const variable = /^(\S+):/.exec(ConfigSchema.shape[key as keyof Config]?.description ?? "")?.[1];
  return new Error(
    `invalid configuration: ${variable ? `${variable} (${key})` : key}: ${issue.message}`,
  );
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {},
): Config {
  const parsed = CheckedConfigSchema.safeParse({ ...fromEnv(env), ...overrides });
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}

/**
 * One setting alone, validated as loadConfig would: for the parts that run before or without
 * the server (the log, the image builder), which an unrelated wrong setting must not stop.
 */
export function loadSetting<K extends keyof Config>(
  key: K,
  env: NodeJS.ProcessEnv = process.env,
): Config[K] {
  const parsed = ConfigSchema.shape[key].safeParse(fromEnv(env)[key]);
  if (!parsed.success) throw invalid(parsed.error, [key]);
  return parsed.data as Config[K];
}
