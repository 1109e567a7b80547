/**
 * A strict JSON reader for request bodies from students. JSON.parse keeps the last of two equal
 * keys and the engine matches keys case-insensitively (folding some Unicode letters into ASCII),
 * so `{"Privileged":false,"privileged":true}` could mean different things to us and to it. We
 * refuse any object holding two keys that are equal after case folding.
 */
import { PolicyError } from "./refusal.ts";

/** A body the proxy will not read: always the student's fault, so a 400, never a 500. */
export class StrictJsonError extends PolicyError {
  constructor(message: string) {
    super(message, 400);
  }
}

/** Docker's bodies nest a few levels; the policy's checks walk values recursively. */
const MAX_DEPTH = 32;

const fold = (key: string) =>
  key.normalize("NFKC").toLowerCase().replace(/ſ/g, "s").replace(/K/g, "k");

export function parseStrictJson(text: string): unknown {
  const value: unknown = (() => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new StrictJsonError(`the request body is not valid JSON: ${(error as Error).message}`);
    }
  })();
  // JSON.parse already dropped duplicates; find them by scanning the raw text for each object.
  scanForDuplicates(text);
  return value;
}

/** Walks the raw text once, tracking the keys of every open object. */
function scanForDuplicates(text: string): void {
  const stack: (Set<string> | null)[] = []; // null for arrays
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") {
      stack.push(c === "{" ? new Set() : null);
      expectingKey = c === "{";
      if (stack.length > MAX_DEPTH)
        throw new StrictJsonError(`the request body is nested more than ${MAX_DEPTH} levels deep`);
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectingKey = false;
    } else if (c === ",") {
      expectingKey = stack.at(-1) instanceof Set;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (expectingKey) {
        const key = fold(JSON.parse(text.slice(i, j + 1)) as string);
        const keys = stack.at(-1) as Set<string>;
        if (keys.has(key))
          throw new StrictJsonError(
            `the request body repeats the key "${JSON.parse(text.slice(i, j + 1))}" (keys are compared without case)`,
          );
        keys.add(key);
        expectingKey = false;
      }
      i = j;
    }
  }
}
