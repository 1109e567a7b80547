import { join } from "node:path";
import type { Router } from "../http/router.ts";
import type { Engine } from "../docker/engine.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import type { Config } from "../config.ts";

export interface ServerParts {
  sessions: SessionManager;
  engine: Engine;
  config: Config;
}

/**
 * Routes beyond sessions (progress, checks), registered when their modules are present. Each
 * module exports a `register(router, parts)` returning an optional close function.
 */
export async function registerExtensions(router: Router, parts: ServerParts): Promise<{ close(): Promise<void> }> {
  const closers: (() => void | Promise<void>)[] = [];
  try {
    const progress = await import("../progress/routes.ts");
    const { openProgressStore } = await import("../progress/store.ts");
    const store = openProgressStore(join(parts.config.dataDir, "progress.sqlite"));
    progress.registerProgressRoutes(router, store, parts.config);
    closers.push(() => store.close?.());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
  }
  return {
    async close() {
      for (const close of closers) await close();
    },
  };
}
