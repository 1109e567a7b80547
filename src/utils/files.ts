/** Pure helpers of the Files panel (src/scripts/files.ts). */

/** The server's upload limit (docs/api.md). */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A relative path inside the home, as the server accepts it; the reason when it is not. */
export function uploadPathProblem(path: string): string | undefined {
  if (!path) return "Give the file a name.";
  if (path.startsWith("/") || path.startsWith("~"))
    return "Give a path inside your home, like restore/app-data.tgz (no leading / or ~).";
  if (path.split("/").some((s) => s === "" || s === ".."))
    return "The path cannot contain empty parts or ..";
  // eslint-disable-next-line no-control-regex
  if (/[\0-\x1f]/.test(path)) return "The path cannot contain control characters.";
  return undefined;
}
