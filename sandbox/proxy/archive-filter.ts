/**
 * `docker cp` into a container (PUT /containers/ID/archive): the tar the student sends is read
 * entry by entry and a new one is written for the engine with only files, folders and links.
 * Device nodes and fifos are dropped and set-id bits cleared: a container's files can sit in
 * host folders (the home's bind folders, volumes), and a 0666 device node or a setuid-root file
 * has no business there (issue 16). Extended headers (xattrs such as file capabilities) are not
 * carried over either. The archive's size is bounded by the caller (the disk quota's allowance).
 */
import { PassThrough, type Readable } from "node:stream";
import tar from "tar-stream";
import { PolicyError } from "./refusal.ts";

const KEPT = new Set(["file", "contiguous-file", "directory", "symlink", "link"]);
const SET_ID_BITS = 0o6000;

export interface FilteredArchive {
  /** The rebuilt tar, for the engine. */
  stream: Readable;
  /** After the engine answered: what was left out or changed, as the student's message; undefined when nothing was. */
  refused(): PolicyError | undefined;
  /** Bytes of file content passed on. */
  bytes(): number;
}

export function filterArchive(input: NodeJS.ReadableStream): FilteredArchive {
  const extract = tar.extract();
  const pack = tar.pack();
  const output = new PassThrough();
  // A failure is kept in `failure` and reported by refused(); once the engine has answered, the
  // destroyed output has no other listener, and an unheard 'error' would end the whole server.
  output.on("error", () => undefined);
  const dropped: string[] = [];
  const cleared: string[] = [];
  let passed = 0;
  let failure: PolicyError | undefined;

  extract.on("entry", (header, body, next) => {
    if (!KEPT.has(header.type ?? "file")) {
      dropped.push(`${header.name} (${header.type})`);
      body.on("end", () => next());
      body.resume();
      return;
    }
    let mode = header.mode ?? 0o644;
    if (mode & SET_ID_BITS) {
      cleared.push(header.name);
      mode &= ~SET_ID_BITS;
    }
    const type = header.type === "contiguous-file" ? "file" : header.type;
    const entry = pack.entry(
      {
        name: header.name,
        mode,
        uid: header.uid,
        gid: header.gid,
        uname: header.uname,
        gname: header.gname,
        mtime: header.mtime,
        size: header.size,
        type,
        linkname: header.linkname,
      },
      (error) => next(error),
    );
    body.on("data", (chunk) => void (passed += (chunk as Buffer).length));
    // An archive cut off mid-entry (the quota's limit) destroys this entry's streams with the same
    // error the extract and pack report to fail(); unheard here, it would end the whole server.
    body.on("error", () => undefined);
    entry.on("error", () => undefined);
    body.pipe(entry);
  });
  extract.on("finish", () => pack.finalize());
  const fail = (error: unknown) => {
    failure =
      error instanceof PolicyError
        ? error
        : new PolicyError(
            `docker cp: the archive could not be read (${(error as Error).message})`,
            400,
          );
    output.destroy(failure);
  };
  extract.on("error", fail);
  pack.on("error", fail);
  input.on("error", fail);
  input.pipe(extract);
  pack.pipe(output);

  return {
    stream: output,
    bytes: () => passed,
    refused: () => {
      if (failure) return failure;
      if (dropped.length === 0 && cleared.length === 0) return undefined;
      const parts = [
        dropped.length
          ? `left out ${dropped.length} device node(s) or fifo(s), which cannot be copied into a sandbox container: ${dropped.slice(0, 5).join(", ")}`
          : "",
        cleared.length ? `cleared the setuid/setgid bit of ${cleared.slice(0, 5).join(", ")}` : "",
      ].filter(Boolean);
      return new PolicyError(
        `docker cp copied the rest of the archive but ${parts.join("; and ")}`,
        400,
      );
    },
  };
}
