/**
 * Hijacked streams: `docker attach` and an attached `docker exec` upgrade the connection, and
 * from then on the bytes are the process's stdin and output, piped both ways untouched. The
 * route (routes.ts) says which engine path to upgrade (its `upgrade` handler); anything else is
 * refused. Both sockets are kept in `streams`, so closing the proxy ends them.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { rawEngineRequest } from "../docker/engine.ts";
import { checkEngineSpeaks, withApiVersion } from "./api-versions.ts";
import type { SessionContext } from "./context.ts";
import { enginePath, readAll } from "./engine-http.ts";
import { PolicyError } from "./refusal.ts";
import { writeRawResponse } from "./relay.ts";
import { matchRoute, splitUrl } from "./routes.ts";

/** Handles an upgrade request on the session's socket. */
export async function upgrade(
  s: SessionContext,
  streams: Set<Duplex>,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
): Promise<void> {
  client.on("error", () => client.destroy());
  streams.add(client);
  client.on("close", () => streams.delete(client));
  let version = s.engine.apiVersion;
  try {
    version = splitUrl(req.url ?? "/", version).version;
  } catch {
    // reported below, where the request is read again
  }
  return withApiVersion(version, () => upgradeVersioned(s, streams, req, client, head));
}

async function upgradeVersioned(
  s: SessionContext,
  streams: Set<Duplex>,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
): Promise<void> {
  try {
    const { path, query, version } = splitUrl(req.url ?? "/", s.engine.apiVersion);
    const matched = matchRoute(req.method ?? "GET", path, query);
    await checkEngineSpeaks(s.engine, version);
    if (!matched.route.upgrade)
      throw new PolicyError(`${req.method} ${path} cannot be upgraded`, 400);
    const target = await matched.route.upgrade(s, { req, params: matched.params, client, head });
    head = target.head;
    const body = target.body;
    const payload = body ? Buffer.from(JSON.stringify(body)) : undefined;
    const upstream = rawEngineRequest(s.engine, {
      agent: false,
      method: "POST",
      path: enginePath(s.engine, target.path, matched.query),
      headers: {
        host: "docker",
        connection: "Upgrade",
        upgrade: "tcp",
        ...(payload
          ? { "content-type": "application/json", "content-length": payload.length }
          : {}),
      },
    });
    upstream.on("upgrade", (res, engineSocket, engineHead) => {
      streams.add(engineSocket);
      engineSocket.on("close", () => streams.delete(engineSocket));
      if (client.destroyed) return void engineSocket.destroy();
      const contentType = res.headers["content-type"] ?? "application/vnd.docker.raw-stream";
      client.write(
        `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
      );
      if (engineHead.length) client.write(engineHead);
      if (head.length) engineSocket.write(head);
      // Bytes after the upgrade are the process's stdin: the engine never parses them as HTTP.
      engineSocket.pipe(client, { end: false });
      client.pipe(engineSocket, { end: false });
      client.on("end", () => engineSocket.end()); // half-close: stdin done, output continues
      engineSocket.on("end", () => client.end());
      engineSocket.on("error", () => client.destroy());
      client.on("close", () => engineSocket.destroy());
      engineSocket.on("close", () => client.destroy());
    });
    upstream.on("response", async (res) => {
      const text = (await readAll(res)).toString("utf8");
      writeRawResponse(
        client,
        res.statusCode ?? 500,
        s.view.text(text),
        res.headers["content-type"] ?? "application/json",
      );
    });
    upstream.on("error", () =>
      writeRawResponse(
        client,
        503,
        JSON.stringify({
          message: "the Docker engine is not answering right now; try again in a moment",
        }),
      ),
    );
    upstream.end(payload);
  } catch (error) {
    const status = error instanceof PolicyError ? error.status : 500;
    const message =
      error instanceof PolicyError ? error.message : "internal error in the sandbox proxy";
    if (!(error instanceof PolicyError)) s.log.error({ err: error }, "upgrade failed");
    writeRawResponse(client, status, JSON.stringify({ message }));
  }
}
