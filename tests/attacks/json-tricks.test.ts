/** JSON that means one thing to a JavaScript reader and another to the engine's Go decoder. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { World, attack, create } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const refusedCreate = (name: string, body: string, status: number, message: RegExp) =>
  attack(w, name, async () => {
    const r = await create(w, body);
    expect(r.status, r.text).toBe(status);
    expect(r.json?.message, r.text).toMatch(message);
  });

describe("json tricks on container create", () => {
  refusedCreate(
    "duplicate key: Privileged false then true",
    '{"Image":"busybox","HostConfig":{"Privileged":false,"Privileged":true}}',
    400,
    /repeats the key "Privileged"/,
  );
  refusedCreate(
    "case-variant duplicate: Privileged / privileged",
    '{"Image":"busybox","HostConfig":{"Privileged":false,"privileged":true}}',
    400,
    /repeats the key "privileged"/,
  );
  refusedCreate(
    "case-variant key alone: PRIVILEGED",
    '{"Image":"busybox","HostConfig":{"PRIVILEGED":true}}',
    400,
    /does not know the setting HostConfig.PRIVILEGED/,
  );
  refusedCreate(
    "Unicode long s folds to s in Go: ſecurityOpt",
    '{"Image":"busybox","HostConfig":{"ſecurityOpt":["seccomp=unconfined"]}}',
    400,
    /does not know the setting HostConfig.ſecurityOpt/,
  );
  refusedCreate(
    "long s duplicate: SecurityOpt / ſecurityOpt",
    '{"Image":"busybox","HostConfig":{"SecurityOpt":[],"ſecurityOpt":["apparmor=unconfined"]}}',
    400,
    /repeats the key/,
  );
  refusedCreate(
    "Kelvin sign folds to k in Go: LinKs",
    '{"Image":"busybox","HostConfig":{"Lin\u212as":["x:y"]}}',
    400,
    /does not know the setting|repeats/,
  );
  refusedCreate(
    "escaped key duplicate: Privil\\u0065ged",
    '{"Image":"busybox","HostConfig":{"Privileged":false,"Privil\\u0065ged":true}}',
    400,
    /repeats the key "Privileged"/,
  );
  refusedCreate(
    "HostConfig given twice, the second privileged",
    '{"Image":"busybox","HostConfig":{},"hostconfig":{"Privileged":true}}',
    400,
    /repeats the key/,
  );
  refusedCreate(
    "second JSON value after the first (Go reads only the first)",
    '{"Image":"busybox"} {"Image":"busybox","HostConfig":{"Privileged":true}}',
    400,
    /not valid JSON/,
  );
  refusedCreate("a JSON array as body", '[{"Image":"busybox"}]', 400, /must be a JSON object/);
  refusedCreate("a JSON string as body", '"busybox"', 400, /must be a JSON object/);
  refusedCreate(
    "deeply nested arrays",
    '{"Image":"busybox","Cmd":' + "[".repeat(30_000) + "]".repeat(30_000) + "}",
    400,
    /must be a list of strings|not valid JSON|nested more than/,
  );
  refusedCreate(
    "Memory as a string",
    '{"Image":"busybox","HostConfig":{"Memory":"8g"}}',
    400,
    /Memory must be a number/,
  );
  refusedCreate(
    "Memory 1e30",
    '{"Image":"busybox","HostConfig":{"Memory":1e30}}',
    403,
    /does not allow --memory/,
  );
  refusedCreate(
    "negative Memory",
    '{"Image":"busybox","HostConfig":{"Memory":-1}}',
    403,
    /does not allow --memory/,
  );
  refusedCreate(
    "NanoCpus above the limit",
    '{"Image":"busybox","HostConfig":{"NanoCpus":4000000000}}',
    403,
    /does not allow --cpus 4 CPUs/,
  );
  refusedCreate(
    "CpuQuota",
    '{"Image":"busybox","HostConfig":{"CpuQuota":1000000,"CpuPeriod":100000}}',
    403,
    /does not allow --cpu-/,
  );
  refusedCreate(
    "CpuShares far above the default (starves neighbours)",
    '{"Image":"busybox","HostConfig":{"CpuShares":262144}}',
    403,
    /does not allow --cpu-shares/,
  );
  refusedCreate(
    "Ulimits",
    '{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":1048576,"Hard":1048576}]}}',
    403,
    /does not allow --ulimit/,
  );
  refusedCreate(
    "OomKillDisable",
    '{"Image":"busybox","HostConfig":{"OomKillDisable":true}}',
    403,
    /does not allow --oom-kill-disable/,
  );
  refusedCreate(
    "ShmSize 8g",
    '{"Image":"busybox","HostConfig":{"ShmSize":8589934592}}',
    403,
    /does not allow --shm-size/,
  );
  refusedCreate(
    "MemorySwap larger than Memory",
    '{"Image":"busybox","HostConfig":{"Memory":104857600,"MemorySwap":1073741824}}',
    403,
    /does not allow --memory-swap/,
  );
  refusedCreate(
    "a stowage.* label claiming the victim's session",
    JSON.stringify({ Image: "busybox", Labels: { "stowage.owner": "x" } }),
    403,
    /stowage\.\* labels belong to the sandbox/,
  );
  refusedCreate(
    "a Stowage.Owner label in another case",
    JSON.stringify({ Image: "busybox", Labels: { "Stowage.Owner": "x" } }),
    403,
    /stowage\.\* labels belong to the sandbox/,
  );
  refusedCreate(
    "Annotations",
    '{"Image":"busybox","HostConfig":{"Annotations":{"io.kubernetes.cri-o.Devices":"/dev/sda"}}}',
    403,
    /does not allow annotations/,
  );
  refusedCreate(
    "Capabilities (API 1.40 field)",
    '{"Image":"busybox","HostConfig":{"Capabilities":["CAP_SYS_ADMIN"]}}',
    400,
    /does not know the setting HostConfig.Capabilities/,
  );
  refusedCreate(
    "an unknown top-level field",
    '{"Image":"busybox","Privileged":true}',
    400,
    /does not know the setting Privileged/,
  );

  attack(w, "PidsLimit -1 (unlimited) is clamped to the session's limit", async () => {
    const r = await create(w, {
      Image: "busybox",
      Cmd: ["true"],
      HostConfig: { PidsLimit: -1, Memory: 0 },
    });
    expect(r.status, r.text).toBe(201);
    const info = await w.server.engine.docker.getContainer(r.json.Id).inspect();
    expect(info.HostConfig.PidsLimit).toBe(128);
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges"]);
    await w.server.engine.docker.getContainer(r.json.Id).remove({ force: true });
  });

  attack(w, "exec create with a case-variant Privileged duplicate", async () => {
    const r = await w.http(w.attacker, "POST", "/v1.41/containers/json", {});
    expect(r.status).toBe(404);
    const mine = await create(w, { Image: "busybox", Cmd: ["sleep", "60"] }, "json-exec");
    expect(mine.status).toBe(201);
    const e = await w.http(w.attacker, "POST", "/v1.41/containers/json-exec/exec", {
      raw: '{"Cmd":["id"],"Privileged":false,"privileged":true}',
    });
    expect(e.status).toBe(400);
    expect(e.json.message).toMatch(/repeats the key/);
    await w.server.engine.docker.getContainer(mine.json.Id).remove({ force: true });
  });
});
