/** How the body is framed and encoded: every trick is refused or normalised before the policy. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { gzipSync } from "node:zlib";
import { World, attack, rawRequest } from "./world.ts";

const w = new World();
beforeAll(() => w.start());
afterAll(() => w.stop());

const evil = JSON.stringify({ Image: "busybox", Cmd: ["true"], HostConfig: { Privileged: true } });
const benign = JSON.stringify({ Image: "busybox", Cmd: ["true"] });

describe("body framing and encoding", () => {
  attack(w, "form-encoded body on container create", async () => {
    const body = "Image=busybox&HostConfig.Privileged=true";
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/create",
        {
          "Content-Type": "application/x-www-form-urlencoded",
          "Content-Length": body.length,
          Connection: "close",
        },
        body,
      ),
    );
    expect(r.status).toBe(415);
    expect(r.text).toMatch(/send the request body as application\/json/);
  });

  attack(w, "JSON sent as text/plain", async () => {
    const r = await w.http(w.attacker, "POST", "/v1.41/containers/create", {
      raw: evil,
      headers: { "content-type": "text/plain" },
    });
    expect(r.status).toBe(415);
  });

  attack(w, "JSON with no content type", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/create",
        { "Content-Length": evil.length, Connection: "close" },
        evil,
      ),
    );
    expect(r.status).toBe(415);
  });

  attack(w, "gzip Content-Encoding hiding a privileged body", async () => {
    const body = gzipSync(evil);
    const r = await w.raw(w.attacker, [
      rawRequest("POST", "/v1.41/containers/create", {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Content-Length": body.length,
        Connection: "close",
      }),
      body,
    ]);
    expect(r.status).toBe(415);
    expect(r.text).toMatch(/does not accept gzip-encoded bodies/);
  });

  attack(w, "Content-Encoding in another case (GZIP) and a list (identity, gzip)", async () => {
    for (const encoding of ["GZIP", "identity, gzip", "deflate"]) {
      const body = gzipSync(evil);
      const r = await w.raw(w.attacker, [
        rawRequest("POST", "/v1.41/containers/create", {
          "Content-Type": "application/json",
          "Content-Encoding": encoding,
          "Content-Length": body.length,
          Connection: "close",
        }),
        body,
      ]);
      expect(r.status, encoding).toBe(415);
    }
  });

  attack(w, "chunked body carrying Privileged: the policy reads the whole body", async () => {
    const half = Math.floor(evil.length / 2);
    const chunks =
      [evil.slice(0, half), evil.slice(half)]
        .map((c) => `${c.length.toString(16)}\r\n${c}\r\n`)
        .join("") + "0\r\n\r\n";
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/create",
        { "Content-Type": "application/json", "Transfer-Encoding": "chunked", Connection: "close" },
        chunks,
      ),
    );
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/does not allow --privileged/);
  });

  attack(w, "Content-Length and Transfer-Encoding together (request smuggling)", async () => {
    const smuggled = rawRequest(
      "POST",
      "/v1.41/containers/create",
      { "Content-Type": "application/json", "Content-Length": evil.length },
      evil,
    );
    const body = `0\r\n\r\n${smuggled}`;
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/create",
        { "Content-Type": "application/json", "Content-Length": 5, "Transfer-Encoding": "chunked" },
        body,
      ),
    );
    expect(
      r.statuses.every((s) => s >= 400),
      r.text,
    ).toBe(true);
  });

  attack(w, "two different Content-Length headers", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/create",
        {
          "Content-Type": "application/json",
          "Content-Length": benign.length,
          "content-length": evil.length,
        },
        evil,
      ),
    );
    expect(r.statuses.filter((s) => s < 400)).toEqual([]);
  });

  attack(
    w,
    "Content-Length: 0 then a privileged body that would be read as a second request",
    async () => {
      const r = await w.raw(
        w.attacker,
        rawRequest(
          "POST",
          "/v1.41/containers/create",
          { "Content-Type": "application/json", "Content-Length": 0 },
          evil,
        ),
      );
      // The empty create is refused by the engine (no image); the leftover bytes are not a request.
      expect(r.statuses.filter((s) => s < 300)).toEqual([]);
    },
  );

  attack(w, "Transfer-Encoding other than chunked", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/create",
        { "Content-Type": "application/json", "Transfer-Encoding": "gzip, chunked" },
        `${evil.length.toString(16)}\r\n${evil}\r\n0\r\n\r\n`,
      ),
    );
    expect(r.statuses.filter((s) => s < 400)).toEqual([]);
  });

  attack(w, "a body larger than 1 MiB", async () => {
    const body = JSON.stringify({ Image: "busybox", Env: [`X=${"a".repeat(1024 * 1024 + 10)}`] });
    const r = await w.http(w.attacker, "POST", "/v1.41/containers/create", { raw: body });
    expect(r.status).toBe(413);
  });

  attack(w, "headers larger than 16 KiB", async () => {
    const r = await w.raw(
      w.attacker,
      rawRequest("GET", "/v1.41/containers/json", {
        "X-Pad": "a".repeat(20_000),
        Connection: "close",
      }),
    );
    expect(r.statuses.filter((s) => s < 400)).toEqual([]);
  });

  attack(
    w,
    "a refused request pipelined after an allowed one on a keep-alive connection",
    async () => {
      const r = await w.raw(
        w.attacker,
        [
          rawRequest("GET", "/_ping"),
          rawRequest(
            "POST",
            "/v1.41/containers/create",
            {
              "Content-Type": "application/json",
              "Content-Length": evil.length,
              Connection: "close",
            },
            evil,
          ),
        ].join(""),
      );
      expect(r.statuses).toEqual([200, 403]);
    },
  );

  attack(w, "a body on a GET (form filters override on a list)", async () => {
    const body = `filters=${encodeURIComponent(JSON.stringify({ label: [`stowage.owner=${w.victim}`] }))}`;
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "GET",
        "/v1.41/containers/json?all=1",
        {
          "Content-Type": "application/x-www-form-urlencoded",
          "Content-Length": body.length,
          Connection: "close",
        },
        body,
      ),
    );
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/takes no request body/);
  });

  attack(w, "a form body on volume prune overriding the label filter", async () => {
    const body = `filters=${encodeURIComponent(JSON.stringify({ label: [`stowage.session=${w.victim}`] }))}`;
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/volumes/prune",
        {
          "Content-Type": "application/x-www-form-urlencoded",
          "Content-Length": body.length,
          Connection: "close",
        },
        body,
      ),
    );
    expect(r.status).toBe(400);
  });

  attack(w, "a form body on container prune, chunked", async () => {
    const body = `filters=${encodeURIComponent(JSON.stringify({ label: [`stowage.session=${w.victim}`] }))}`;
    const r = await w.raw(
      w.attacker,
      rawRequest(
        "POST",
        "/v1.41/containers/prune",
        {
          "Content-Type": "application/x-www-form-urlencoded",
          "Transfer-Encoding": "chunked",
          Connection: "close",
        },
        `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ),
    );
    expect(r.status).toBe(400);
  });

  attack(w, "HTTP/1.0 without Host", async () => {
    const r = await w.raw(
      w.attacker,
      `POST /v1.41/containers/create HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${evil.length}\r\n\r\n${evil}`,
    );
    expect(r.statuses.filter((s) => s < 400)).toEqual([]);
  });

  attack(w, "bare LF line endings and an obs-folded header", async () => {
    const r = await w.raw(
      w.attacker,
      `POST /v1.41/containers/create HTTP/1.1\nHost: docker\nContent-Type: application/json\n  ; x=1\nContent-Length: ${evil.length}\n\n${evil}`,
    );
    expect(r.statuses.filter((s) => s < 400)).toEqual([]);
  });

  attack(
    w,
    "a body that never finishes does not hold the policy open forever (slow loris)",
    async () => {
      const r = await w.raw(
        w.attacker,
        [
          rawRequest(
            "POST",
            "/v1.41/containers/create",
            { "Content-Type": "application/json", "Content-Length": evil.length + 100 },
            evil,
          ),
        ],
        { totalMs: 3000 },
      );
      expect(r.statuses.filter((s) => s < 400)).toEqual([]);
    },
  );
});
