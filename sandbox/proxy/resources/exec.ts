/**
 * `docker exec`: never privileged, never working in /proc or /sys, paced per session; the rest is
 * the student's own business inside their container. Only execs this session made can be started.
 */
import { posix } from "node:path";
import { sendJson } from "../../http/router.ts";
import { BOUNDS, boundExecCreate } from "../bounds.ts";
import { execWorkingDir } from "../container-paths.ts";
import { ID, route, type Route, type RouteRequest, type SessionContext } from "../context.ts";
import { engineJson, engineRequest } from "../engine-http.ts";
import { bool, num, onlyKnown, optStr, strList, type Json } from "../fields.ts";
import { PolicyError, refuse } from "../refusal.ts";
import { relay, relayJson } from "../relay.ts";
import { jsonBody, noBody, readUpgradeBody } from "../request-body.ts";

/** `docker exec`: never privileged; the rest is the student's own business inside the container. */
export function planExecCreate(body: Json): Json {
  onlyKnown("", body, [
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "Detach",
    "DetachKeys",
    "Tty",
    "Env",
    "Cmd",
    "Privileged",
    "User",
    "WorkingDir",
    "ConsoleSize",
  ]);
  if (body.Privileged === true) refuse("docker exec --privileged");
  boundExecCreate(body);
  const workingDir = optStr("WorkingDir", body.WorkingDir);
  if (workingDir && /^\/+(proc|sys)(\/|$)/.test(posix.normalize(workingDir)))
    refuse(`--workdir ${workingDir}`, "/proc and /sys are off limits");
  const cmd = strList("Cmd", body.Cmd);
  if (!cmd || cmd.length === 0) throw new PolicyError("No exec command specified", 400);
  return {
    AttachStdin: bool("AttachStdin", body.AttachStdin),
    AttachStdout: bool("AttachStdout", body.AttachStdout),
    AttachStderr: bool("AttachStderr", body.AttachStderr),
    DetachKeys: optStr("DetachKeys", body.DetachKeys) ?? "",
    Tty: bool("Tty", body.Tty),
    Env: strList("Env", body.Env) ?? [],
    Cmd: cmd,
    Privileged: false,
    User: optStr("User", body.User) ?? "",
    WorkingDir: workingDir ?? "",
    ...(Array.isArray(body.ConsoleSize)
      ? { ConsoleSize: body.ConsoleSize.map((n, i) => num(`ConsoleSize[${i}]`, n)) }
      : {}),
  };
}

export function planExecStart(body: Json): Json {
  onlyKnown("", body, ["Detach", "Tty", "ConsoleSize"]);
  return {
    Detach: bool("Detach", body.Detach),
    Tty: bool("Tty", body.Tty),
    ...(Array.isArray(body.ConsoleSize)
      ? { ConsoleSize: body.ConsoleSize.map((n, i) => num(`ConsoleSize[${i}]`, n)) }
      : {}),
  };
}

export const execRoutes: Route[] = [
  route("POST", `/containers/${ID}/exec`, async (s, { req, res, params }) => {
    const id = await s.objects.containerId(params[0]!);
    const plan = planExecCreate(await jsonBody(req));
    // -w is resolved in the container as its kernel would: a link into /proc is /proc.
    if (plan.WorkingDir) {
      const workingDir = await execWorkingDir(s.engine, id, String(plan.WorkingDir));
      if (workingDir.refused)
        throw new PolicyError(
          `this sandbox does not allow --workdir ${String(plan.WorkingDir)}: it leads into /proc or /sys, which are off limits`,
        );
      plan.WorkingDir = workingDir.path;
    }
    await s.execBudget.take();
    const upstream = await engineJson<{ Id?: string }>(s.engine, {
      method: "POST",
      path: `/containers/${id}/exec`,
      json: plan,
    });
    if (upstream.body?.Id) rememberExec(s, upstream.body.Id);
    return sendJson(res, upstream.status, s.view.json(upstream.body));
  }),

  route(
    "POST",
    `/exec/${ID}/start`,
    async (s, { req, res, params }) => {
      const body = planExecStart(await jsonBody(req));
      if (!body.Detach)
        throw new PolicyError(
          "an attached exec needs an upgraded connection (Connection: Upgrade)",
          400,
        );
      return relay(
        s.view,
        res,
        await engineRequest(s.engine, {
          method: "POST",
          path: `/exec/${execId(s, params[0]!)}/start`,
          json: body,
        }),
      );
    },
    [],
    {
      upgrade: async (s, { req, params, client, head }) => {
        const id = execId(s, params[0]!);
        const { json, rest } = await readUpgradeBody(req, client, head);
        return { path: `/exec/${id}/start`, body: planExecStart(json), head: rest };
      },
    },
  ),

  route("POST", `/exec/${ID}/resize`, execOp, ["h", "w"]),
  route("GET", `/exec/${ID}/json`, execOp),
];

async function execOp(
  s: SessionContext,
  { req, res, path, params, query }: RouteRequest,
): Promise<void> {
  await noBody(req);
  const action = path.split("/").pop()!;
  return relayJson(
    s.view,
    res,
    await engineRequest(s.engine, {
      method: req.method!,
      path: `/exec/${execId(s, params[0]!)}/${action}`,
      query,
    }),
  );
}

/** The CLI needs its newest exec IDs only: the oldest are forgotten past a bound. */
function rememberExec(s: SessionContext, id: string): void {
  s.execIds.add(id);
  if (s.execIds.size > BOUNDS.execsRemembered) s.execIds.delete(s.execIds.values().next().value!);
}

function execId(s: SessionContext, ref: string): string {
  if (!s.execIds.has(ref)) throw new PolicyError(`No such exec instance: ${ref}`, 404);
  return ref;
}
