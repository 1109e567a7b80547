import { z } from "zod";

/**
 * The reference table of a zod schema, for the authoring guide: every field (nested ones as
 * `exercises[].tasks[].id`) with its type, whether it is required, its default, its limits and the
 * text given to `.describe()`. Walks the schema's JSON Schema, so a new field appears by itself.
 */

export interface FieldDoc {
  path: string;
  depth: number;
  type: string;
  required: boolean;
  default?: string;
  constraints: string[];
  description: string;
  /** For a list of objects: the description of one item (e.g. what an exercise is). */
  itemDescription?: string;
}

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  format?: string;
}

function typeName(s: JsonSchema): string {
  if (s.enum) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return s.anyOf.map(typeName).join(" or ");
  const t = Array.isArray(s.type) ? s.type.join(" or ") : s.type;
  switch (t) {
    case "string":
      return "text";
    case "integer":
      return "whole number";
    case "number":
      return "number";
    case "boolean":
      return "true or false";
    case "array":
      return s.items ? `list of ${plural(typeName(s.items))}` : "list";
    case "object":
      return "object";
    default:
      return t ?? "any";
  }
}

function plural(name: string): string {
  if (name === "text") return "texts";
  if (name.endsWith("number")) return name + "s";
  if (name === "object") return "objects";
  return name;
}

function range(min: number | undefined, max: number | undefined, unit: string): string | undefined {
  if (min !== undefined && max !== undefined) return `${min} to ${max}${unit}`;
  const one = (n: number) => (n === 1 ? unit.replace(/s$/, "") : unit);
  if (min !== undefined) return `at least ${min}${one(min)}`;
  if (max !== undefined) return `at most ${max}${one(max)}`;
  return undefined;
}

function limits(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.minLength === 1 && s.maxLength === undefined) out.push("not empty");
  else {
    const r = range(s.minLength, s.maxLength, " characters");
    if (r) out.push(r);
  }
  const r = range(s.minimum, s.maximum, "");
  if (r) out.push(r);
  if (s.exclusiveMinimum !== undefined) out.push(`more than ${s.exclusiveMinimum}`);
  if (s.exclusiveMaximum !== undefined) out.push(`less than ${s.exclusiveMaximum}`);
  const items = range(s.minItems, s.maxItems, " items");
  if (items) out.push(items);
  if (s.pattern) out.push(`matches /${s.pattern}/`);
  if (s.format) out.push(`format: ${s.format}`);
  if (s.type === "array" && s.items && s.items.type !== "object") {
    for (const l of limits(s.items)) out.push(`each: ${l}`);
  }
  if (s.type === "object" && s.additionalProperties === false) out.push("no other keys");
  return out;
}

/** One row per field, depth-first in declaration order. */
export function describeSchema(schema: z.ZodType): FieldDoc[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const rows: FieldDoc[] = [];
  const walk = (obj: JsonSchema, prefix: string, depth: number) => {
    const required = new Set(obj.required ?? []);
    for (const [key, field] of Object.entries(obj.properties ?? {})) {
      const path = prefix + key;
      rows.push({
        path,
        depth,
        type: typeName(field),
        required: required.has(key) && field.default === undefined,
        default: field.default === undefined ? undefined : JSON.stringify(field.default),
        constraints: limits(field),
        description: field.description ?? "",
        itemDescription: field.type === "array" ? field.items?.description : undefined,
      });
      if (field.type === "object") walk(field, `${path}.`, depth + 1);
      if (field.type === "array" && field.items?.type === "object") {
        walk(field.items, `${path}[].`, depth + 1);
      }
    }
  };
  walk(json, "", 0);
  return rows;
}
