/**
 * Checks on the fields of a request body and on the names in a path: each throws the 400 the
 * student sees, naming the field. Shared by every resource's rules (resources/).
 */
import { boundLabels } from "./bounds.ts";
import { PolicyError, refuse } from "./refusal.ts";

export type Json = Record<string, unknown>;

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/;

export function checkName(kind: string, name: string): string {
  if (!NAME.test(name))
    throw new PolicyError(
      `invalid ${kind} name "${name}": use letters, digits, "_", "." and "-", starting with a letter or digit`,
      400,
    );
  return name;
}

/**
 * An image reference as the engine's path names it (`busybox`, `library/busybox:1.36`,
 * `sha256:...`, `name@sha256:...`). No `..`, no empty segment, no character the engine would
 * decode into something else: `/images/a%2F..%2F..%2Fcontainers%2FID/json` must never reach
 * another route after the engine cleans the path.
 */
const IMAGE_REF =
  /^[a-z0-9][a-z0-9._-]*(?::[0-9]+)?(?:\/[a-z0-9][a-z0-9._-]*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$|^(?:sha256:)?[a-f0-9]{1,64}$/;

export function imageRef(ref: string): string {
  if (!IMAGE_REF.test(ref) || ref.split("/").some((s) => s === ".." || s === "."))
    throw new PolicyError(`No such image: ${ref}`, 404);
  return ref;
}

export const isEmpty = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === false ||
  v === 0 ||
  v === "" ||
  (Array.isArray(v) && v.every(isEmpty)) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every(isEmpty));

export function str(field: string, v: unknown): string {
  if (typeof v !== "string") throw new PolicyError(`${field} must be a string`, 400);
  return v;
}
export function optStr(field: string, v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : str(field, v);
}
export function bool(field: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new PolicyError(`${field} must be true or false`, 400);
  return v;
}
export function num(field: string, v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new PolicyError(`${field} must be a number`, 400);
  return v;
}
export function strList(field: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw new PolicyError(`${field} must be a list of strings`, 400);
  return v as string[];
}
export function obj(field: string, v: unknown): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw new PolicyError(`${field} must be an object`, 400);
  return v as Json;
}
export function strMap(field: string, v: unknown): Record<string, string> {
  const o = obj(field, v);
  for (const [k, val] of Object.entries(o))
    if (typeof val !== "string") throw new PolicyError(`${field}.${k} must be a string`, 400);
  return o as Record<string, string>;
}

/** Student labels: anything but our own `stowage.*` keys. */
export function studentLabels(field: string, v: unknown): Record<string, string> {
  const labels = strMap(field, v);
  for (const key of Object.keys(labels))
    if (key.toLowerCase().startsWith("stowage."))
      refuse(`the label ${key}`, "stowage.* labels belong to the sandbox");
  boundLabels(field, labels);
  return labels;
}

/** Rejects a body carrying a field the rule does not name. */
export function onlyKnown(where: string, body: Json, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key))
      throw new PolicyError(`this sandbox does not know the setting ${where}${key}`, 400);
  }
}
