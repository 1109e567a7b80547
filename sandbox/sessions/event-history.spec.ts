import { describe, expect, it } from "vitest";
import { StudentView } from "../proxy/rewrite.ts";
import { SessionScope } from "../naming/scope.ts";
import { Session, type SessionEvent } from "./session.ts";
import { HISTORY_LIMITS } from "./event-history.ts";
import { engineFrom } from "../docker/engine.ts";

function newSession(): Session {
  const scope = new SessionScope("0123456789ab", "t", "/tmp/stowage-history-spec");
  return new Session(
    scope.sessionId,
    "",
    scope,
    "/tmp/stowage-history-spec",
    3600,
    new StudentView(scope),
    engineFrom("unix:///nonexistent/docker.sock", { concurrentStarts: 1 }), // never called
  );
}

/** A pause or unpause event as the engine sends it for a container with `labelBytes` of labels. */
function fatEvent(i: number, labelBytes: number): SessionEvent {
  const attributes: Record<string, string> = {
    image: "busybox",
    name: "fat",
    "com.docker.compose.project": "notes-stack",
  };
  for (let l = 0; l < 10; l++)
    attributes[`student.label.${l}`] = String.fromCharCode(97 + l).repeat(labelBytes / 10);
  return {
    type: "container",
    action: i % 2 ? "unpause" : "pause",
    id: "c".repeat(64),
    name: "fat",
    attributes,
    time: 1_000_000 + i,
  };
}

describe("a session's event history", () => {
  it("stays within its byte bound however fat the container's labels are (ddc0117 kept 2000 events with every label)", () => {
    const session = newSession();
    for (let i = 0; i < 2100; i++) session.record(fatEvent(i, 20_000));
    const held = session.history.reduce((sum, e) => sum + 2 * JSON.stringify(e).length, 0);
    expect(held).toBeLessThanOrEqual(HISTORY_LIMITS.bytes * 1.5);
    expect(session.historyBytes).toBeLessThanOrEqual(HISTORY_LIMITS.bytes);
    // The newest are kept, oldest first.
    expect(session.history.at(-1)!.time).toBe(1_000_000 + 2099);
    expect(session.history.length).toBeGreaterThan(500);
  });

  it("keeps what checks read (the engine's own attributes, Compose's project and service) and drops the other labels", () => {
    const session = newSession();
    session.record(fatEvent(0, 1000));
    session.record({
      type: "volume",
      action: "mount",
      id: "db",
      name: "db",
      attributes: {
        container: "c".repeat(64),
        destination: "/var/lib/postgresql/data",
        "read/write": "false",
        driver: "local",
        propagation: "",
      },
      time: 5,
    });
    const [container, mount] = session.history;
    expect(container!.attributes).toEqual({
      image: "busybox",
      name: "fat",
      "com.docker.compose.project": "notes-stack",
    });
    expect(mount!.attributes).toEqual({
      container: "c".repeat(64),
      destination: "/var/lib/postgresql/data",
      "read/write": "false",
      driver: "local",
      propagation: "",
    });
  });

  it("clips a long attribute value and still bounds the count", () => {
    const session = newSession();
    for (let i = 0; i < HISTORY_LIMITS.events + 10; i++)
      session.record({
        type: "container",
        action: "start",
        id: String(i),
        name: "x".repeat(5000),
        attributes: { image: "y".repeat(5000) },
        time: i,
      });
    expect(session.history.length).toBeLessThanOrEqual(HISTORY_LIMITS.events);
    expect(session.history.at(-1)!.name!.length).toBe(HISTORY_LIMITS.attributeChars);
    expect(session.history.at(-1)!.attributes.image!.length).toBe(HISTORY_LIMITS.attributeChars);
  });
});
