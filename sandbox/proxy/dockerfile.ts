/**
 * The Dockerfile of a `docker build`, read by the proxy before the engine sees it (build.ts).
 * The classic builder is used (docs/decisions/builds.md): what it can do on the student's behalf
 * is what this file lets through. Every base image (`FROM`, `COPY --from`) must be one the
 * session may use and is rewritten to the engine's name, so the engine never pulls; `ADD` of a
 * URL, `RUN --mount/--network/--security`, `ONBUILD` and variables where images or sources are
 * named are refused with the reason. The rewritten Dockerfile replaces the student's in the
 * context sent to the engine.
 */
import { PolicyError } from "./refusal.ts";

/** Bounds on what a lesson's Dockerfile needs. */
export const DOCKERFILE_BOUNDS = { bytes: 64 * 1024, instructions: 200, stages: 8 } as const;

const KNOWN = new Set([
  "FROM",
  "RUN",
  "CMD",
  "LABEL",
  "MAINTAINER",
  "EXPOSE",
  "ENV",
  "ADD",
  "COPY",
  "ENTRYPOINT",
  "VOLUME",
  "USER",
  "WORKDIR",
  "ARG",
  "STOPSIGNAL",
  "HEALTHCHECK",
  "SHELL",
]);

export interface Instruction {
  keyword: string;
  /** `--name=value` flags before the arguments, in order. */
  flags: { name: string; value: string | undefined }[];
  /** The arguments after the flags, as written. */
  rest: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

const refused = (line: number, what: string, why: string): never => {
  throw new PolicyError(
    `this sandbox does not allow ${what} in the Dockerfile (line ${line}): ${why}`,
    400,
  );
};

/** Splits a Dockerfile into instructions: parser directives, comments and line continuations handled as the classic builder does. */
export function parseDockerfile(text: string): Instruction[] {
  if (Buffer.byteLength(text) > DOCKERFILE_BOUNDS.bytes)
    throw new PolicyError(
      `the Dockerfile is larger than ${DOCKERFILE_BOUNDS.bytes / 1024} KiB`,
      400,
    );
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  // Parser directives come first (`# escape=`, `# syntax=`); only the default escape is supported.
  for (const [index, raw] of lines.entries()) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === "escape" && directive[2] !== "\\")
      refused(
        index + 1,
        `the escape directive "${directive[2]}"`,
        "only the default \\ is supported here",
      );
  }
  const out: Instruction[] = [];
  let current = "";
  let start = 0;
  for (const [index, raw] of lines.entries()) {
    if (current === "" && /^\s*(#.*)?$/.test(raw)) continue;
    if (current !== "" && /^\s*#/.test(raw)) continue; // comments inside a continuation are dropped
    if (current === "") start = index + 1;
    const trimmed = raw.replace(/\s+$/, "");
    if (trimmed.endsWith("\\")) {
      current += trimmed.slice(0, -1);
      continue;
    }
    current += raw;
    out.push(instruction(current, start));
    current = "";
  }
  if (current.trim() !== "") out.push(instruction(current, start));
  if (out.length > DOCKERFILE_BOUNDS.instructions)
    throw new PolicyError(
      `the Dockerfile has more than ${DOCKERFILE_BOUNDS.instructions} instructions`,
      400,
    );
  return out;
}

function instruction(text: string, line: number): Instruction {
  const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(text)!;
  const keyword = match[1]!.toUpperCase();
  let rest = match[2]!;
  const flags: Instruction["flags"] = [];
  for (;;) {
    const flag = /^--([A-Za-z0-9-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!flag) break;
    flags.push({ name: flag[1]!.toLowerCase(), value: flag[2] });
    rest = rest.slice(flag[0].length);
  }
  return { keyword, flags, rest: rest.trim(), line };
}

/** The arguments of an instruction written as a JSON array or as words. */
function words(instruction: Instruction): string[] {
  if (instruction.rest.startsWith("[")) {
    try {
      const value = JSON.parse(instruction.rest) as unknown;
      if (Array.isArray(value) && value.every((v) => typeof v === "string"))
        return value as string[];
    } catch {
      // not JSON: the builder reads it as words too
    }
  }
  return instruction.rest.split(/\s+/).filter(Boolean);
}

const URL_LIKE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/|^git@/;

/**
 * Checks a Dockerfile and returns it rewritten for the engine: each base image replaced by what
 * `resolveImage` answers (the session's engine name for its own images; a 404 PolicyError for an
 * image the session may not use), and `sessionLabel` (`key=value`) set right after each FROM.
 * That label is why: the classic builder's cache is the engine's, shared by every session, and a
 * step another session had built answered "Using cache" (what a neighbour's Dockerfile held, and
 * their layers under this image); with the session's label first, every cached step's parent is
 * the session's own, so only its own builds are ever reused.
 */
export async function planDockerfile(
  text: string,
  resolveImage: (ref: string) => Promise<string>,
  sessionLabel: string,
): Promise<string> {
  const instructions = parseDockerfile(text);
  const stages: string[] = [];
  const lines: string[] = [];
  let seenFrom = false;
  for (const ins of instructions) {
    if (!KNOWN.has(ins.keyword)) {
      if (ins.keyword === "ONBUILD")
        refused(ins.line, "ONBUILD", "triggers would run in builds the proxy has not read");
      refused(ins.line, `the instruction ${ins.keyword}`, `use ${[...KNOWN].join(", ")}`);
    }
    const base = (ref: string, what: string): Promise<string> => {
      if (ref.includes("$"))
        refused(
          ins.line,
          `a variable in ${what}`,
          "name the image itself (for example FROM busybox)",
        );
      return resolveImage(ref).catch((error: unknown) => {
        if (error instanceof PolicyError && error.status === 404) {
          throw new PolicyError(
            `${what} ${ref} (Dockerfile line ${ins.line}): this sandbox builds only from the course's images (see docker images) and the images you built`,
            400,
          );
        }
        throw error;
      });
    };
    switch (ins.keyword) {
      case "FROM": {
        if (ins.flags.length > 0)
          refused(
            ins.line,
            `FROM --${ins.flags[0]!.name}`,
            "images here are for this machine's platform only",
          );
        const [image, as, name, ...more] = words(ins);
        if (!image || more.length > 0 || (as !== undefined && (as.toUpperCase() !== "AS" || !name)))
          refused(ins.line, `"FROM ${ins.rest}"`, "write FROM image or FROM image AS name");
        if (stages.length >= DOCKERFILE_BOUNDS.stages)
          refused(ins.line, `more than ${DOCKERFILE_BOUNDS.stages} stages`, "a lesson needs a few");
        // `scratch` is no image (an empty base), never pulled.
        const engineRef =
          stages.includes(image!.toLowerCase()) || image!.toLowerCase() === "scratch"
            ? image!
            : await base(image!, "FROM");
        if (name) stages.push(name.toLowerCase());
        else stages.push(`#${stages.length}`);
        seenFrom = true;
        lines.push(`FROM ${engineRef}${name ? ` AS ${name}` : ""}`, `LABEL ${sessionLabel}`);
        continue;
      }
      case "RUN":
        for (const flag of ins.flags) {
          const why =
            flag.name === "mount"
              ? "RUN --mount could bind the build context, secrets, SSH agents or caches shared with other builds"
              : flag.name === "network"
                ? "builds here have no network"
                : flag.name === "security"
                  ? "builds run with the default confinement"
                  : "this option is not needed here";
          refused(ins.line, `RUN --${flag.name}`, why);
        }
        break;
      case "ADD":
      case "COPY": {
        for (const flag of ins.flags) {
          if (flag.name === "chown") continue;
          if (flag.name === "from" && ins.keyword === "COPY") continue;
          refused(
            ins.line,
            `${ins.keyword} --${flag.name}`,
            "only --chown (and COPY --from) are supported here",
          );
        }
        const sources = words(ins).slice(0, -1);
        if (ins.keyword === "ADD") {
          for (const source of sources) {
            if (URL_LIKE.test(source))
              refused(
                ins.line,
                `ADD of a URL (${source})`,
                "builds here have no network; put the file in the build folder and COPY it",
              );
            if (source.includes("$"))
              refused(
                ins.line,
                `a variable in an ADD source (${source})`,
                "it could name a URL; write the path itself",
              );
          }
        }
        const from = ins.flags.find((f) => f.name === "from");
        if (from) {
          const value = from.value ?? "";
          const stage =
            stages.includes(value.toLowerCase()) ||
            (/^\d+$/.test(value) && Number(value) < stages.length);
          const engineRef = stage ? value : await base(value, "COPY --from");
          const flags = ins.flags.map((f) =>
            f === from
              ? `--from=${engineRef}`
              : `--${f.name}${f.value === undefined ? "" : `=${f.value}`}`,
          );
          lines.push(`${ins.keyword} ${flags.join(" ")} ${ins.rest}`);
          continue;
        }
        break;
      }
      default:
        if (ins.flags.length > 0 && ins.keyword !== "HEALTHCHECK")
          refused(
            ins.line,
            `${ins.keyword} --${ins.flags[0]!.name}`,
            "this option is not supported here",
          );
    }
    if (!seenFrom && ins.keyword !== "ARG")
      refused(ins.line, ins.keyword, "a Dockerfile starts with FROM");
    const flags = ins.flags.map((f) => `--${f.name}${f.value === undefined ? "" : `=${f.value}`}`);
    lines.push([ins.keyword, ...flags, ins.rest].filter(Boolean).join(" "));
  }
  if (!seenFrom) throw new PolicyError("the Dockerfile has no FROM instruction", 400);
  return lines.join("\n") + "\n";
}
