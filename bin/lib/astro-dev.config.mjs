// @ts-check
/**
 * The site's config for `stowage dev`: astro.config.mjs with one change. With
 * `trailingSlash: "always"`, astro dev answers /api/health itself (a 404 suggesting /api/health/)
 * before its Vite proxy can send the request to the sandbox server; "ignore" lets /api through.
 * Lesson links still need their trailing slash in the built site: `stowage validate` checks them.
 */
import base from "../../astro.config.mjs";

export default { ...base, trailingSlash: /** @type {const} */ ("ignore") };
