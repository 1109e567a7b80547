import { fileURLToPath } from "node:url";
import type { AstroIntegration } from "astro";

/** Indexes the built lessons with Pagefind (only pages marked data-pagefind-body). */
export default function pagefindIntegration(): AstroIntegration {
  return {
    name: "stowage:pagefind",
    hooks: {
      "astro:build:done": async ({ dir, logger }) => {
        const pagefind = await import("pagefind");
        const outDir = fileURLToPath(dir);
        const { index, errors } = await pagefind.createIndex({});
        if (!index) throw new Error(`pagefind: ${errors.join("; ")}`);
        const added = await index.addDirectory({ path: outDir });
        if (added.errors.length) throw new Error(`pagefind: ${added.errors.join("; ")}`);
        const written = await index.writeFiles({
          outputPath: `${outDir.replace(/\/$/, "")}/pagefind`,
        });
        if (written.errors.length) throw new Error(`pagefind: ${written.errors.join("; ")}`);
        logger.info(
          `search index written (${added.page_count} pages scanned; only lesson pages carry data-pagefind-body)`,
        );
        await pagefind.close();
      },
    },
  };
}
