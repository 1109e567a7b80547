// @ts-check
import { defineConfig } from "astro/config";
import mdx from "@astrojs/mdx";
import { satteri } from "@astrojs/markdown-satteri";
import lessonValidation from "./src/integrations/lesson-validation.ts";
import pagefind from "./src/integrations/pagefind.ts";
import { siteBuildSettings } from "./src/schemas/site-build.ts";

const settings = siteBuildSettings();

export default defineConfig({
  output: "static",
  // Tests build into a temporary folder so they never disturb the dist/ a running server serves.
  outDir: settings.outDir,
  // "always" for the built site; dev must let /api/... through to the sandbox server's proxy.
  trailingSlash: process.argv.includes("dev") ? "ignore" : "always",
  integrations: [lessonValidation(), mdx(), pagefind()],
  devToolbar: { enabled: false },
  markdown: {
    // No typographic replacements: "--name" must not become an en dash, nor 'quotes' curly, in commands.
    processor: satteri({ features: { smartPunctuation: false } }),
    shikiConfig: {
      themes: { light: "github-light-high-contrast", dark: "github-dark-high-contrast" },
      defaultColor: "light",
    },
  },
  build: { inlineStylesheets: "auto" },
  server: { port: 4322 },
  vite: {
    server: {
      // astro dev: the API and terminal WebSocket live on the Stowage server (STOWAGE_PORT, 4321).
      proxy: {
        "/api": {
          target: `http://localhost:${settings.serverPort}`,
          ws: true,
          changeOrigin: false,
        },
      },
    },
  },
});
