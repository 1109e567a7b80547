/**
 * The site build's own settings, read from the environment in one place (the server's are in
 * sandbox/config.ts). Tests and `npm run dev` set them; a plain `astro build` needs none.
 */
import { z } from "zod";

export const siteBuildSchema = z.object({
  lessonsDir: z
    .string()
    .min(1)
    .default("lessons")
    .describe(
      "STOWAGE_LESSONS_DIR: the lesson folders the site is built from, relative to the project (tests build fixture lessons)",
    ),
  outDir: z
    .string()
    .min(1)
    .default("./dist")
    .describe(
      "STOWAGE_OUT_DIR: where the built site goes (tests build into a temporary folder, never the dist/ a server serves)",
    ),
  serverPort: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(4321)
    .describe("STOWAGE_PORT: the Stowage server that `astro dev` passes /api and WebSockets to"),
});

export type SiteBuild = z.infer<typeof siteBuildSchema>;

/** The settings from `env`; a bad value throws naming the variable. */
export function siteBuildSettings(env: NodeJS.ProcessEnv = process.env): SiteBuild {
  const parsed = siteBuildSchema.safeParse({
    lessonsDir: env.STOWAGE_LESSONS_DIR || undefined,
    outDir: env.STOWAGE_OUT_DIR || undefined,
    serverPort: env.STOWAGE_PORT || undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0]) as keyof SiteBuild;
    const variable = siteBuildSchema.shape[field].description?.split(":")[0] ?? field;
    throw new Error(`${variable}: ${issue.message}`);
  }
  return parsed.data;
}
