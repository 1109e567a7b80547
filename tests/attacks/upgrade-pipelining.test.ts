/** Upgraded streams (attach, exec start): after the upgrade bytes are stdin, never HTTP. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, rawRequest } from "./world.ts";

const w = new World();
let execId = "";
beforeAll(async () => {
  await w.start();
  const c = await w.http(w.attacker, "POST", "/v1.41/containers/create?name=own", {
    body: { Image: "busybox", Cmd: ["sleep", "3600"], OpenStdin: true },
  });
  await w.http(w.attacker, "POST", `/v1.41/containers/${c.json.Id}/start`);
});
afterAll(() => w.stop());

const newExec = async (cmd: string[]) => {
  const r = await w.http(w.attacker, "POST", "/v1.41/containers/own/exec", {
    body: { Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true },
  });
  expect(r.status, r.text).toBe(201);
  return (execId = r.json.Id);
};
const evil = JSON.stringify({ Image: "busybox", Cmd: ["true"], HostConfig: { Privileged: true } });
const evilRequest = rawRequest(
  "POST",
  "/v1.41/containers/create",
  { "Content-Type": "application/json", "Content-Length": evil.length },
  evil,
);
const upgrade = (path: string, body = '{"Detach":false,"Tty":true}') =>
  rawRequest(
    "POST",
    path,
    {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
      Connection: "Upgrade",
      Upgrade: "tcp",
    },
    body,
  );

describe("upgrade and pipelining", () => {
  attack(w, "a privileged create pipelined after an upgraded exec start is stdin", async () => {
    const id = await newExec(["cat"]);
    const r = await w.raw(w.attacker, [upgrade(`/v1.41/exec/${id}/start`), evilRequest], {
      quietMs: 1500,
    });
    expect(r.status).toBe(101);
    expect(r.statuses).toEqual([101]);
    expect(r.text).toContain("POST /v1.41/containers/create"); // echoed back by cat, as a tty
  });

  attack(w, "a second request in the same packet as the upgrade", async () => {
    const id = await newExec(["cat"]);
    const r = await w.raw(w.attacker, upgrade(`/v1.41/exec/${id}/start`) + evilRequest, {
      quietMs: 1500,
    });
    expect(r.statuses).toEqual([101]);
  });

  attack(w, "the victim's exec ID, upgraded", async () => {
    const r = await w.raw(w.attacker, upgrade(`/v1.41/exec/${w.victimExecId}/start`));
    expect(r.status).toBe(404);
    expect(r.text).toMatch(/No such exec instance/);
  });

  attack(w, "the victim's exec ID: start detached, inspect, resize", async () => {
    const start = await w.http(w.attacker, "POST", `/v1.41/exec/${w.victimExecId}/start`, {
      body: { Detach: true },
    });
    expect(start.status).toBe(404);
    const inspect = await w.http(w.attacker, "GET", `/v1.41/exec/${w.victimExecId}/json`);
    expect(inspect.status).toBe(404);
    const resize = await w.http(
      w.attacker,
      "POST",
      `/v1.41/exec/${w.victimExecId}/resize?h=10&w=10`,
    );
    expect(resize.status).toBe(404);
    const prefix = await w.http(
      w.attacker,
      "GET",
      `/v1.41/exec/${w.victimExecId.slice(0, 12)}/json`,
    );
    expect(prefix.status).toBe(404);
  });

  attack(w, "attach to the victim's container, upgraded", async () => {
    for (const ref of [w.victimContainerId, w.names.vault, `stw-${w.victim}-${w.names.vault}`]) {
      const r = await w.raw(
        w.attacker,
        upgrade(`/v1.41/containers/${ref}/attach?stream=1&stdout=1&logs=1`, ""),
      );
      expect(r.status, ref).toBe(404);
      expect(r.text).not.toContain(w.secret);
    }
  });

  attack(w, "an Upgrade header on container create", async () => {
    const r = await w.raw(w.attacker, upgrade("/v1.41/containers/create", evil));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/cannot be upgraded/);
  });

  attack(w, "exec start upgraded with a chunked body", async () => {
    const id = await newExec(["true"]);
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        `/v1.41/exec/${id}/start`,
        {
          "Content-Type": "application/json",
          "Transfer-Encoding": "chunked",
          Connection: "Upgrade",
          Upgrade: "tcp",
        },
        "2\r\n{}\r\n0\r\n\r\n",
      ),
    );
    expect(r.status).toBe(400);
  });

  attack(w, "exec start upgraded with an oversized body", async () => {
    const id = await newExec(["true"]);
    const r = await w.raw(
      w.attacker,
      upgrade(`/v1.41/exec/${id}/start`, JSON.stringify({ Detach: false, x: "a".repeat(5000) })),
    );
    expect(r.status).toBe(400);
  });

  attack(w, "exec start upgraded with a duplicate-key body", async () => {
    const id = await newExec(["true"]);
    const r = await w.raw(
      w.attacker,
      upgrade(`/v1.41/exec/${id}/start`, '{"Detach":false,"detach":true}'),
    );
    expect(r.status).toBe(400);
  });

  attack(w, "websocket attach", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest("GET", "/v1.41/containers/own/attach/ws?stream=1", {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": 13,
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      }),
    );
    expect(r.status).toBe(403);
  });

  attack(w, "an attached exec start without the upgrade", async () => {
    const id = await newExec(["true"]);
    const r = await w.http(w.attacker, "POST", `/v1.41/exec/${id}/start`, {
      body: { Detach: false },
    });
    expect(r.status).toBe(400);
  });

  attack(w, "exec create --privileged on the attacker's own container", async () => {
    const r = await w.http(w.attacker, "POST", "/v1.41/containers/own/exec", {
      body: { Cmd: ["id"], Privileged: true },
    });
    expect(r.status).toBe(403);
    expect(execId).not.toBe("");
  });

  attack(
    w,
    "exec with a working dir in /proc (host pids under a shared pid namespace)",
    async () => {
      const r = await w.http(w.attacker, "POST", "/v1.41/containers/own/exec", {
        body: { Cmd: ["ls"], WorkingDir: "//proc/1/root" },
      });
      expect(r.status).toBe(403);
    },
  );
});
