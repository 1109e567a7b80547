/**
 * The commonest route: a request without a body about one of the session's own objects
 * (inspect, remove), passed on under the object's engine name. A neighbour's object, or one that
 * does not exist, is "no such ..." from the lookup before anything reaches the engine.
 */
import type { Handler, SessionContext } from "./context.ts";
import { engineRequest } from "./engine-http.ts";
import { relayJson } from "./relay.ts";
import { noBody } from "./request-body.ts";

type Kind = "containers" | "volumes" | "networks";

const engineNameOf: Record<Kind, (s: SessionContext, ref: string) => Promise<string>> = {
  containers: (s, ref) => s.objects.containerId(ref),
  volumes: (s, ref) => s.objects.volumeName(ref),
  networks: (s, ref) => s.objects.networkName(ref),
};

/**
 * `/{kind}/{ref}{suffix}` to the engine as `/{kind}/{engine name}{suffix}`, its query as the
 * route allows; the JSON answer in the student's names, through `select` first when given (to
 * hide what the student must not read).
 */
export function forwardOwn(
  kind: Kind,
  suffix = "",
  select?: (s: SessionContext, value: unknown) => unknown,
): Handler {
  return async (s, { req, res, params, query }) => {
    await noBody(req);
    const upstream = await engineRequest(s.engine, {
      method: req.method!,
      path: `/${kind}/${await engineNameOf[kind](s, params[0]!)}${suffix}`,
      query,
    });
    return relayJson(s.view, res, upstream, select && ((value) => select(s, value)));
  };
}
