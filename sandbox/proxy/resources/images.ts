/**
 * Images: the course's images are built in and shared by every student, so a student may list
 * and inspect them, and nothing else: no pull, build, load, tag, push or removal.
 * A new image route (a build, say) is one more row in imageRoutes (replacing its refusal below),
 * its handler beside it or in a module of its own; routes.ts joins the lists.
 */
import { refused, route, type Handler, type Route } from "../context.ts";
import { engineRequest } from "../engine-http.ts";
import { imageRef } from "../fields.ts";
import { scopedFilters } from "../filters.ts";
import { relayJson } from "../relay.ts";
import { noBody } from "../request-body.ts";

const IMAGES_HERE = "the images here are built in, so use one of them (see `docker images`)";

/** `docker image inspect` and `docker history`: the reference is checked before it becomes a path. */
const inspect: Handler = async (s, { req, res, path, params }) => {
  await noBody(req);
  return relayJson(s.view, res, await engineRequest(s.engine, { method: "GET", path: `/images/${imageRef(params[0]!)}/${path.split("/").pop()}` }));
};

export const imageRoutes: Route[] = [
  route("GET", "/images/json", async (s, { req, res, path, query }) => {
    await noBody(req);
    if (query.get("filters")) query.set("filters", scopedFilters(s.objects, "images", query.get("filters"), false));
    return relayJson(s.view, res, await engineRequest(s.engine, { method: "GET", path, query }));
  }, ["all", "filters", "digests"]),

  route("GET", "/images/(.+)/json", inspect),
  route("GET", "/images/(.+)/history", inspect),

  refused("POST", "/images/create", `pulling or importing images (there is no registry here); ${IMAGES_HERE}`),
  refused("POST", "/build", `building images; ${IMAGES_HERE}`),
  refused("POST", "/build/prune", "pruning the build cache"),
  refused("POST", "/images/load", `loading images; ${IMAGES_HERE}`),
  refused("GET", "/images/get", "saving images"),
  refused("GET", "/images/(.+)/get", "saving images"),
  refused("POST", "/images/(.+)/tag", "tagging images: they are shared by every student"),
  refused("POST", "/images/(.+)/push", "pushing images"),
  refused("DELETE", "/images/(.+)", "removing images: they are shared by every student"),
  refused("POST", "/images/prune", "pruning images: they are shared by every student"),
  refused("GET", "/images/search", "searching a registry (there is none here)"),
  refused("POST", "/commit", "docker commit: images are shared by every student"),
  refused("POST", "/auth", "logging in to a registry"),
  // CLI 26's `docker build` is buildx, which asks for these first: the same answer as /build.
  refused("POST", "/session", `building images (BuildKit); ${IMAGES_HERE}`),
  refused("POST", "/grpc", `building images (BuildKit); ${IMAGES_HERE}`),
];
