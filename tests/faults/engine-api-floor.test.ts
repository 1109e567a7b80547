/**
 * An engine that dropped the old API versions, as Docker Engine 29 did (nothing before 1.44):
 * here a stand-in in front of the real engine that refuses every request under 1.44 with Engine
 * 29's message (tools/engine-floor-relay.ts). The server speaks the engine's oldest version to it
 * and everything works: sessions, the terminal, the student's docker, a reset, the cleanup. An
 * engine whose oldest version is newer than the server knows stops the start with both ranges.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiClient,
  countSessionObjects,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { EngineFloorRelay } from "../../tools/engine-floor-relay.ts";

const ENGINE_SOCKET = new URL(process.env.DOCKER_HOST || "unix:///var/run/docker.sock").pathname;

let dir = "";
let relay: EngineFloorRelay;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-floor-"));
  relay = new EngineFloorRelay(join(dir, "docker.sock"), ENGINE_SOCKET, "1.44");
  await relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await rm(dir, { recursive: true, force: true });
});

function status(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path, headers: { host: "docker" } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

describe("an engine that no longer speaks API 1.41 (Engine 29)", () => {
  it("the stand-in refuses 1.41 as Engine 29 does", async () => {
    expect(await status(relay.path, "/v1.41/_ping")).toBe(400);
    expect(await status(relay.path, "/v1.44/_ping")).toBe(200);
  });

  it("gets sessions, a terminal, the student's docker, a reset and the cleanup, all at 1.44", async () => {
    relay.refused.length = 0;
    const server = await startTestServer({ dockerHost: `unix://${relay.path}` });
    let id = "";
    let first = "";
    try {
      expect(server.engine.apiVersion).toBe("1.44");
      const student = new ApiClient(server.url);
      const created = await student.call("POST", "/api/sessions");
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      id = first = created.body.id;
      const terminal = await TerminalClient.open(server.url, id, student.cookie);
      await terminal.waitFor(PROMPT, 20_000);
      terminal.type("docker run --rm -v data:/d busybox sh -c 'echo kept > /d/f; cat /d/f'\r");
      await terminal.waitFor(/^kept/m, 30_000);
      await terminal.close();
      const r = await studentShell(
        server,
        id,
        "docker volume ls -q; docker run -d --name web busybox sleep 60 >/dev/null && docker ps --format '{{.Names}}'",
      );
      expect(r.exitCode, r.output).toBe(0);
      expect(r.stdout).toBe("data\nweb\n");
      const reset = await student.call("POST", `/api/sessions/${id}/reset`, { keepHome: true });
      expect(reset.status, JSON.stringify(reset.body)).toBeLessThan(300);
      const after = reset.body.id ?? id;
      expect((await studentShell(server, after, "docker ps -aq | wc -l")).stdout.trim()).toBe("0");
      id = after;
    } finally {
      await server.close();
    }
    for (const session of [first, id])
      expect(await countSessionObjects(server, session)).toEqual({
        containers: 0,
        volumes: 0,
        networks: 0,
      });
    expect(relay.refused).toEqual([]);
  }, 180_000);

  it("an engine whose oldest version is newer than the server knows stops the start, naming both", async () => {
    const newer = new EngineFloorRelay(join(dir, "newer.sock"), ENGINE_SOCKET, "1.46");
    await newer.start();
    try {
      await expect(startTestServer({ dockerHost: `unix://${newer.path}` })).rejects.toThrow(
        /speaks API 1\.46 to 1\.\d+; Stowage speaks 1\.41 to 1\.45/,
      );
    } finally {
      await newer.stop();
    }
  });
});
