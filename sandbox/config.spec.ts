import { describe, expect, it } from "vitest";
import { loadConfig, loadSetting } from "./config.ts";
import { parseEngineList } from "./naming/engine-addresses.ts";

describe("configuration", () => {
  it("has working defaults with an empty environment", () => {
    const config = loadConfig({});
    expect(config.port).toBe(4321);
    expect(config.host).toBe("127.0.0.1");
    expect(config.idleTimeoutSeconds).toBe(1800);
    expect(config.maxLifetimeSeconds).toBe(7200);
    expect(config.poolSize).toBe(2);
    expect(config.dockerHost).toBe("unix:///var/run/docker.sock");
    expect(config.engineStarts).toBeGreaterThanOrEqual(1);
    expect(config.engineStarts).toBeLessThanOrEqual(8);
  });

  it("admits container starts one per two cores unless told", () => {
    expect(loadConfig({ STOWAGE_ENGINE_STARTS: "3" }).engineStarts).toBe(3);
    expect(() => loadConfig({ STOWAGE_ENGINE_STARTS: "0" })).toThrow(/engineStarts/);
  });

  it("reads every STOWAGE_* variable", () => {
    const config = loadConfig({
      STOWAGE_PORT: "8080",
      STOWAGE_HOST: "0.0.0.0",
      DOCKER_HOST: "tcp://10.0.0.5:2375",
      STOWAGE_IDLE_TIMEOUT: "60",
      STOWAGE_MAX_LIFETIME: "600",
      STOWAGE_MAX_SESSIONS: "10",
      STOWAGE_CREATE_PER_MINUTE: "3",
      STOWAGE_POOL_SIZE: "5",
      STOWAGE_INSTANCE: "class-a",
      STOWAGE_INSTRUCTOR_TOKEN: "0123456789abcdef0123",
    });
    expect(config).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      dockerHost: "tcp://10.0.0.5:2375",
      idleTimeoutSeconds: 60,
      maxLifetimeSeconds: 600,
      maxSessions: 10,
      createPerMinute: 3,
      poolSize: 5,
      instance: "class-a",
      instructorToken: "0123456789abcdef0123",
    });
  });

  it("reads the proxy, log and image settings, validated like the rest", () => {
    expect(loadConfig({})).toMatchObject({ trustProxy: false, imageSource: "build" });
    expect(
      loadConfig({
        STOWAGE_TRUST_PROXY: "true",
        STOWAGE_LOG_LEVEL: "debug",
        STOWAGE_IMAGE_SOURCE: "pull",
      }),
    ).toMatchObject({ trustProxy: true, logLevel: "debug", imageSource: "pull" });
    expect(loadConfig({ STOWAGE_TRUST_PROXY: "0" }).trustProxy).toBe(false);
    expect(() => loadConfig({ STOWAGE_TRUST_PROXY: "maybe" })).toThrow(
      /STOWAGE_TRUST_PROXY \(trustProxy\)/,
    );
    expect(() => loadConfig({ STOWAGE_LOG_LEVEL: "loud" })).toThrow(
      /STOWAGE_LOG_LEVEL \(logLevel\)/,
    );
    expect(loadConfig({ VITEST: "true" }).logLevel).toBe("warn");
  });

  it("reads one setting alone, so a wrong other one does not stop the image builder", () => {
    expect(
      loadSetting("imageSource", { STOWAGE_IMAGE_SOURCE: "pull", STOWAGE_POOL_SIZE: "many" }),
    ).toBe("pull");
    expect(() => loadSetting("imageSource", { STOWAGE_IMAGE_SOURCE: "fetch" })).toThrow(
      /STOWAGE_IMAGE_SOURCE \(imageSource\)/,
    );
  });

  it("names the setting that is wrong", () => {
    expect(() => loadConfig({ STOWAGE_POOL_SIZE: "many" })).toThrow(/poolSize/);
    expect(() => loadConfig({ STOWAGE_INSTANCE: "Bad Name!" })).toThrow(/instance/);
    expect(() => loadConfig({ STOWAGE_INSTRUCTOR_TOKEN: "short" })).toThrow(/instructorToken/);
  });

  it("takes the public origin as an origin only, normalised, and names the setting when it is not one", () => {
    expect(loadConfig({}).publicOrigin).toBeUndefined();
    expect(
      loadConfig({ STOWAGE_PUBLIC_ORIGIN: "https://Class.Example.org:443/" }).publicOrigin,
    ).toBe("https://class.example.org");
    expect(loadConfig({ STOWAGE_PUBLIC_ORIGIN: "http://10.0.0.5:4321" }).publicOrigin).toBe(
      "http://10.0.0.5:4321",
    );
    for (const bad of [
      "class.example.org",
      "https://class.example.org/course",
      "ftp://x.example",
      "https://x.example/?a=1",
      "https://u:p@x.example",
    ]) {
      expect(() => loadConfig({ STOWAGE_PUBLIC_ORIGIN: bad })).toThrow(
        /STOWAGE_PUBLIC_ORIGIN \(publicOrigin\): expected an origin/,
      );
    }
  });

  it("takes a PostgreSQL URL for the platform database, and says what is wrong with another without echoing its password", () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    const url = "postgres://stowage:s3cret@db.example.org:5432/stowage";
    expect(loadConfig({ STOWAGE_DATABASE_URL: url }).databaseUrl).toBe(url);
    expect(
      loadConfig({ STOWAGE_DATABASE_URL: "postgresql://127.0.0.1:5433/platform" }).databaseUrl,
    ).toBe("postgresql://127.0.0.1:5433/platform");
    for (const [bad, why] of [
      ["mysql://u:hunter2@db/stowage", /got a mysql: URL/],
      ["db.example.org/stowage", /got something that is not a URL/],
      ["postgres://u:hunter2@db.example.org", /without a database name/],
    ] as const) {
      const attempt = () => loadConfig({ STOWAGE_DATABASE_URL: bad });
      expect(attempt).toThrow(/STOWAGE_DATABASE_URL \(databaseUrl\): expected a PostgreSQL URL/);
      expect(attempt).toThrow(why);
      expect(attempt).not.toThrow(/hunter2/);
    }
  });

  it("reads STOWAGE_ENGINES and names the bad entry", () => {
    const ok = "unix:///run/e2/docker.sock?name=e2&subnets=10.234.0.0/16";
    expect(loadConfig({ STOWAGE_ENGINES: ok }).engines).toBe(ok);
    expect(parseEngineList(loadConfig({ STOWAGE_ENGINES: ok }))).toMatchObject([
      { name: "default", address: "unix:///var/run/docker.sock", isDefault: true },
      { name: "e2", socketPath: "/run/e2/docker.sock", subnets: "10.234.0.0/16" },
    ]);
    const refusal = (engines: string) => () => loadConfig({ STOWAGE_ENGINES: engines });
    expect(refusal(`${ok},ftp://x`)).toThrow(/STOWAGE_ENGINES.*"ftp:\/\/x": ftp:\/\/ engines/);
    expect(refusal("unix:///run/e3.sock")).toThrow(
      /"unix:\/\/\/run\/e3.sock": engines on this host need their own subnets=/,
    );
    expect(refusal("unix:///var/run/docker.sock?subnets=10.1.0.0/16")).toThrow(
      /already the default engine's/,
    );
    expect(refusal(`${ok},unix:///run/e4.sock?name=e2&subnets=10.235.0.0/16`)).toThrow(
      /the name e2 is already/,
    );
    expect(refusal("tcp://h:2376?tls=/nonexistent")).toThrow(
      /tls=\/nonexistent lacks ca.pem, cert.pem, key.pem/,
    );
    expect(refusal("unix:///run/e5.sock?subnet=10.1.0.0/16")).toThrow(/unknown option subnet=/);
    expect(refusal("unix:///run/e6.sock?subnets=10.236.0.0/16&drain=yes")).toThrow(
      /drain=yes: use drain=1/,
    );
    expect(parseEngineList(loadConfig({ STOWAGE_ENGINES: `${ok}&drain=1` }))[1]).toMatchObject({
      name: "e2",
      drain: true,
    });
    expect(() => loadConfig({ DOCKER_HOST: "ssh://h" })).toThrow(
      /DOCKER_HOST \(dockerHost\): "ssh:\/\/h"/,
    );
    // A tcp:// engine without TLS parses (it is remote: its sessions keep their homes there).
    expect(
      parseEngineList({
        dockerHost: "unix:///s",
        engines: "tcp://10.0.0.9",
        sessionSubnets: "10.213.0.0/16",
      })[1],
    ).toMatchObject({ protocol: "tcp", host: "10.0.0.9", port: 2375 });
  });
});
