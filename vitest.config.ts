import { defineConfig } from "vitest/config";

// Integration tests share one Docker daemon and one set of images: run files one at a time so
// timing-sensitive terminal tests are not starved on a 2-core machine.
export default defineConfig({
  test: {
    include: ["sandbox/**/*.spec.ts", "src/**/*.spec.ts", "tests/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ["tests/global-setup.ts"],
  },
});
