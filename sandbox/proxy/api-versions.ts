/**
 * Docker API versions through the proxy. A student's CLI negotiates with the proxy as with an
 * engine: it reads the `API-Version` header of `/_ping` and then prefixes every request with
 * `/v1.NN`. The proxy serves the versions whose request fields the rules in resources/ know, 1.41 (Engine and
 * CLI 20.10) to 1.45 (Engine and CLI 26): the ping header is capped at 1.45, so a newer CLI
 * against a newer engine settles on 1.45 too; a request asking for a version outside the range
 * is refused with a message. The request then goes to the engine under the student's version, so
 * the engine applies that version's meaning (`volume prune` keeps named volumes from 1.42 on),
 * and a field that an older version would silently ignore is refused instead (requireApiVersion).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  askEngineVersion,
  compareApiVersions,
  NEWEST_API_VERSION,
  OLDEST_API_VERSION,
  type Engine,
} from "../docker/engine.ts";
import { PolicyError } from "./refusal.ts";

export { compareApiVersions, NEWEST_API_VERSION, OLDEST_API_VERSION };

const PREFIX = /^\/v(\d+)\.(\d+)(?=\/|$)/;

/**
 * Splits `/v1.45/containers/json` into the version and the path. No prefix: the version the
 * proxy uses with the engine anyway. A version the proxy does not serve: a PolicyError that
 * names the range.
 */
export function splitVersionPrefix(
  pathname: string,
  fallback: string,
): { version: string; path: string } {
  const match = PREFIX.exec(pathname);
  if (!match) return { version: fallback, path: pathname };
  const version = `${Number(match[1])}.${Number(match[2])}`;
  if (compareApiVersions(version, OLDEST_API_VERSION) < 0) {
    throw new PolicyError(
      `client version ${version} is too old: this sandbox speaks Docker API ${OLDEST_API_VERSION} (Docker 20.10) to ${NEWEST_API_VERSION}`,
      400,
    );
  }
  if (compareApiVersions(version, NEWEST_API_VERSION) > 0) {
    throw new PolicyError(
      `client version ${version} is too new: this sandbox speaks Docker API ${OLDEST_API_VERSION} to ${NEWEST_API_VERSION} (Docker 26); unset DOCKER_API_VERSION and the CLI will agree on one`,
      400,
    );
  }
  return { version, path: pathname.slice(match[0].length) || "/" };
}

const current = new AsyncLocalStorage<string>();

/** Runs one student request with its API version in force for every engine call it makes. */
export function withApiVersion<T>(version: string, work: () => Promise<T>): Promise<T> {
  return current.run(version, work);
}

/** The API version of the student request being handled, if any. */
export function requestApiVersion(): string | undefined {
  return current.getStore();
}

/**
 * A field the engine only understands from `since` on: older engines (and newer ones spoken to
 * in an older version) drop it without a word, which for a volume's Subpath would mount the
 * whole volume. Refused instead, as Engine 26 words it.
 */
export function requireApiVersion(field: string, since: string): void {
  const version = current.getStore();
  if (version !== undefined && compareApiVersions(version, since) < 0) {
    throw new PolicyError(
      `${field} needs API v${since} or newer (this request speaks v${version}; the engine here may be older)`,
      400,
    );
  }
}

/** The `API-Version` a ping answers with: the engine's, capped at the newest this proxy serves. */
export function cappedApiVersion(engineVersion: string | undefined): string | undefined {
  if (!engineVersion) return engineVersion;
  return compareApiVersions(engineVersion, NEWEST_API_VERSION) > 0
    ? NEWEST_API_VERSION
    : engineVersion;
}

/** The engine's newest API version, asked once a minute (unversioned GET /version). */
const engineNewest = new WeakMap<Engine, { version: Promise<string | undefined>; at: number }>();

const newestOf = (engine: Engine) => askEngineVersion(engine).then((answer) => answer?.ApiVersion);

/**
 * A request in a version the engine is too old for is answered as the engine would, before the
 * proxy's own lookups run into the same refusal (and the student reads "internal error").
 */
export async function checkEngineSpeaks(engine: Engine, version: string): Promise<void> {
  let cached = engineNewest.get(engine);
  if (!cached || Date.now() - cached.at > 60_000) {
    cached = { version: newestOf(engine), at: Date.now() };
    engineNewest.set(engine, cached);
  }
  let newest = await cached.version;
  if (newest !== undefined && compareApiVersions(version, newest) > 0) {
    // Asked again before refusing: when the engine has gone away, a CLI whose ping failed falls
    // back to its own newest version, and the student must read that the engine is not
    // answering, not a version refusal from a minute-old answer.
    const fresh = newestOf(engine);
    engineNewest.set(engine, { version: fresh, at: Date.now() });
    newest = await fresh;
  }
  if (newest === undefined)
    engineNewest.delete(engine); // engine down: its own error follows
  else if (compareApiVersions(version, newest) > 0) {
    throw new PolicyError(
      `client version ${version} is too new. Maximum supported API version is ${newest}`,
      400,
    );
  }
}
