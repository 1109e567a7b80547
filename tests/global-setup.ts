/**
 * Once per test run: the course images must exist (built from their recipes, or found in the
 * cache by recipe hash). A missing Docker engine fails the run here, loudly: tests never skip it.
 */
import { ensureImages } from "../sandbox/images/build.ts";

export default async function setup(): Promise<void> {
  await ensureImages();
}
