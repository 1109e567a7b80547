import { defineConfig } from "vitest/config";

// Two projects. "unit": pure logic (`*.spec.ts` beside the code), no Docker, no images: runs in
// seconds (`npm run test:unit`). "integration": tests/, against the real daemon and the course
// images, which the global setup builds first; files run one at a time because they share one
// daemon and timing-sensitive terminal tests must not be starved on a 2-core machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "sandbox/**/*.spec.ts",
            "src/**/*.spec.ts",
            "bin/**/*.spec.ts",
            "tools/**/*.spec.ts",
          ],
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
          globalSetup: ["tests/global-setup.ts"],
        },
      },
    ],
  },
});
