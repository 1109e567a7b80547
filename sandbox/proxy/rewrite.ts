import { STUDENT_HOME, type SessionScope } from "../naming/scope.ts";

/**
 * What the engine says, as the student should read it: engine names lose the session prefix,
 * workspace paths become /home/student paths, the remapped engine root becomes the usual
 * /var/lib/docker, and the sandbox's own labels disappear.
 */
export class StudentView {
  private readonly replacements: [string, string][];

  constructor(scope: SessionScope, engineRootDir?: string) {
    this.replacements = [
      // A remote engine's home volume (home-volume.ts): its folder there is the student's home.
      ...(engineRootDir
        ? ([[`${engineRootDir}/volumes/${scope.homeVolumeName}/_data`, STUDENT_HOME]] as [
            string,
            string,
          ][])
        : []),
      [scope.workspaceDir, STUDENT_HOME],
      [scope.bindDir, STUDENT_HOME],
      [scope.runDir, "/run/stowage"],
      [scope.prefix, ""],
    ];
    if (engineRootDir && engineRootDir !== "/var/lib/docker")
      this.replacements.push([engineRootDir, "/var/lib/docker"]);
  }

  text(value: string): string {
    let out = value;
    for (const [from, to] of this.replacements) out = out.split(from).join(to);
    return out;
  }

  /** Rewrites every string in a JSON value and drops `stowage.*` labels. */
  json(value: unknown): unknown {
    if (typeof value === "string") return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.json(v));
    if (value && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (
          (key === "Labels" || key === "Attributes") &&
          v &&
          typeof v === "object" &&
          !Array.isArray(v)
        ) {
          const labels: Record<string, unknown> = {};
          for (const [k, l] of Object.entries(v))
            if (!k.startsWith("stowage.")) labels[this.text(k)] = this.json(l);
          out[key] = labels;
        } else {
          out[this.text(key)] = this.json(v);
        }
      }
      return out;
    }
    return value;
  }
}
