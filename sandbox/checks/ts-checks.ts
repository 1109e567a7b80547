/**
 * TypeScript checks: `checks/<task>.ts` modules exporting `defineCheck(...)` (api.ts), loaded with
 * a dynamic import (Node strips the types) and re-imported whenever the file changes, so an
 * instructor editing a check sees the new version on the next run without restarting the server.
 * A check that throws, returns nothing or runs out of time fails with a message; it never breaks
 * the request.
 */
import { stat } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import type Docker from "dockerode";
import { log } from "../log.ts";
import { CheckFailure, isCheckDefinition, type CheckDefinition, type CheckResult } from "./api.ts";
import { CheckTimeoutError, createCheckSession, type CheckTarget } from "./check-session.ts";

const loaded = new Map<string, { version: string; check: CheckDefinition }>();
const MESSAGE_LIMIT = 1000;

/** Imports a check module, again when its modification time or size changed since the last import. */
export async function loadTsCheck(file: string): Promise<CheckDefinition> {
  const info = await stat(file);
  const version = `${Math.round(info.mtimeMs)}-${info.size}`;
  const cached = loaded.get(file);
  if (cached?.version === version) return cached.check;
  const module = (await import(`${pathToFileURL(file).href}?v=${version}`)) as {
    default?: unknown;
  };
  if (!isCheckDefinition(module.default))
    throw new Error(
      "its default export is not a check: expected `export default defineCheck(async (s) => ...)`",
    );
  loaded.set(file, { version, check: module.default });
  return module.default;
}

const clip = (text: string) =>
  text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;

/** Runs one TypeScript check file against a session; always resolves to a result. */
export async function runTsCheck(
  docker: Docker,
  target: CheckTarget,
  file: string,
): Promise<CheckResult> {
  let check: CheckDefinition;
  try {
    check = await loadTsCheck(file);
  } catch (error) {
    log.warn({ file, err: (error as Error).message }, "check could not be loaded");
    return {
      passed: false,
      message: `This task's check could not be loaded; tell your instructor. (${clip((error as Error).message)})`,
    };
  }
  const deadline = Date.now() + check.timeoutMs;
  const session = createCheckSession(docker, target, deadline);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), check.timeoutMs);
  });
  try {
    const running = Promise.resolve().then(() => check.run(session));
    // A check that runs out of time keeps going in the background (its next API call throws): never an unhandled rejection.
    running.catch(() => undefined);
    const outcome = await Promise.race([running, timeout]);
    if (outcome === "timeout") return timedOut(check);
    if (outcome && typeof outcome === "object" && typeof outcome.passed === "boolean") {
      return { passed: outcome.passed, message: clip(String(outcome.message ?? "")) };
    }
    return {
      passed: false,
      message:
        "This task's check gave no answer (it must return pass() or fail(...)); tell your instructor.",
    };
  } catch (error) {
    if (error instanceof CheckFailure || (error as CheckResult)?.passed === false)
      return { passed: false, message: clip(String((error as Error).message)) };
    if (error instanceof CheckTimeoutError) return timedOut(check);
    log.warn({ file, err: error }, "check threw");
    return {
      passed: false,
      message: `This task's check hit an error and could not decide; tell your instructor. (${clip((error as Error)?.message ?? String(error))})`,
    };
  } finally {
    clearTimeout(timer);
  }
}

const timedOut = (check: CheckDefinition): CheckResult => ({
  passed: false,
  message: `The check took longer than ${check.timeoutMs / 1000} s and was stopped. Try again in a moment.`,
});
