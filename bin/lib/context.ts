/** What bin/stowage.js hands every command. */
export interface CliContext {
  /** The repository root (where bin/ is). */
  root: string;
  /** The lessons folder: --lessons, else STOWAGE_LESSONS_DIR, else <root>/lessons. */
  lessonsDir: string;
  /** Positional arguments after the command name. */
  args: string[];
  /** The parsed --options (bin/stowage.js: OPTIONS, read with node:util parseArgs). */
  options: { lessons?: string; title?: string; jobs?: string; help?: boolean };
}
