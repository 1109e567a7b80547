import { describe, expect, it } from "vitest";
import {
  NAME_PREFIX,
  SessionScope,
  bridgeName,
  sessionIdOfName,
  withoutSessionPrefix,
} from "./scope.ts";

describe("session naming", () => {
  const scope = new SessionScope("0123456789ab", "main", "/data/sessions/0123456789ab");

  it("finds the session of an engine name it made, and no other", () => {
    expect(sessionIdOfName(scope.engineName("app-data"))).toBe("0123456789ab");
    expect(sessionIdOfName(`/${scope.workstationName}`)).toBe("0123456789ab");
    expect(sessionIdOfName(`${NAME_PREFIX}short-x`)).toBeUndefined();
    expect(sessionIdOfName("app-data")).toBeUndefined();
  });

  it("takes a session prefix off a name, as the student would have written it", () => {
    expect(withoutSessionPrefix(scope.engineName("web"))).toBe("web");
    expect(withoutSessionPrefix("web")).toBe("web");
  });

  it("names a bridge within the kernel's 15 characters", () => {
    expect(bridgeName("f".repeat(64))).toHaveLength(15);
  });
});
