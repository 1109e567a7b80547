/**
 * Images: the course's images are built in and shared by every student; a student also has
 * images of their own, built with `docker build` (classic builder, context and Dockerfile checked:
 * build.ts, dockerfile.ts) and scoped to the session like containers (own-images.ts). A student may
 * list and inspect the course's images and their own, and tag, remove and run their own; nothing
 * may pull, load, push, or replace, retag or remove a course image.
 */
import { refused, route, type Handler, type Route, type SessionContext } from "../context.ts";
import { scopedFilters } from "../filters.ts";
import { handleImages } from "../build.ts";
import { BUILD_QUERY } from "../build-query.ts";

const IMAGES_HERE = "the images here are built in, so use one of them (see `docker images`)";

/** Every image route goes to build.ts, which knows the session's own images. */
function images(
  kind: "images.list" | "image.inspect" | "image.build" | "image.tag" | "image.delete",
): Handler {
  return (s: SessionContext, { req, res, params, query }) =>
    handleImages(
      kind,
      {
        engine: s.engine,
        scope: s.scope,
        view: s.view,
        allowance: s.archiveAllowance,
        filters: (raw) => scopedFilters(s.objects, "images", raw, false),
      },
      params,
      query,
      req,
      res,
    );
}

export const imageRoutes: Route[] = [
  route("GET", "/images/json", images("images.list"), ["all", "filters", "digests"]),
  route("GET", "/images/(.+)/json", images("image.inspect")),
  route("GET", "/images/(.+)/history", images("image.inspect")),
  route("POST", "/build", images("image.build"), BUILD_QUERY),
  route("POST", "/images/(.+)/tag", images("image.tag"), ["repo", "tag"]),
  route("DELETE", "/images/(.+)", images("image.delete"), ["force", "noprune"]),

  refused(
    "POST",
    "/images/create",
    `pulling or importing images (there is no registry here); ${IMAGES_HERE}`,
  ),
  refused("POST", "/build/prune", "pruning the build cache"),
  refused("POST", "/images/load", `loading images; ${IMAGES_HERE}`),
  refused("GET", "/images/get", "saving images"),
  refused("GET", "/images/(.+)/get", "saving images"),
  refused("POST", "/images/(.+)/push", "pushing images"),
  refused("POST", "/images/prune", "pruning images: they are shared by every student"),
  refused("GET", "/images/search", "searching a registry (there is none here)"),
  refused("POST", "/commit", "docker commit: images are shared by every student"),
  refused("POST", "/auth", "logging in to a registry"),
  // CLI 26's `docker build` is buildx, which asks for these first (the workstation sets DOCKER_BUILDKIT=0).
  refused("POST", "/session", `building images (BuildKit); ${IMAGES_HERE}`),
  refused("POST", "/grpc", `building images (BuildKit); ${IMAGES_HERE}`),
];
