/**
 * The server's side of the socket relay against a scripted agent: frames split anywhere, the
 * flow control and every kind of bad frame. (The real agent, engine and proxy:
 * tests/sandbox/socket-relay.test.ts.)
 */
import { Duplex, Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Logger } from "../log.ts";
import { RELAY, relayOverExec, type SocketRelay } from "./socket-relay.ts";

const T = { ready: 0, open: 1, data: 2, eof: 3, close: 4, credit: 5 };

function frame(id: number, type: number, payload: Buffer | number = Buffer.alloc(0)): Buffer {
  const body = typeof payload === "number" ? Buffer.alloc(4) : payload;
  if (typeof payload === "number") body.writeUInt32BE(payload);
  const header = Buffer.alloc(9);
  header.writeUInt32BE(id, 0);
  header[4] = type;
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

/** The engine's stdout framing around the agent's bytes. */
function stdout(bytes: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(bytes.length, 4);
  return Buffer.concat([header, bytes]);
}

function parseFrames(bytes: Buffer): { id: number; type: number; payload: Buffer }[] {
  const frames = [];
  for (let at = 0; at + 9 <= bytes.length;) {
    const length = bytes.readUInt32BE(at + 5);
    frames.push({
      id: bytes.readUInt32BE(at),
      type: bytes[at + 4]!,
      payload: bytes.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}

/** A proxy connection that keeps what it is sent; `hold` keeps its writes from completing. */
class FakeProxy extends Duplex {
  received: Buffer[] = [];
  held: (() => void)[] = [];
  private readonly hold: boolean;
  constructor(hold: boolean) {
    super({ allowHalfOpen: true });
    this.hold = hold;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: string, done: (error?: Error) => void): void {
    this.received.push(chunk);
    if (this.hold) this.held.push(() => done());
    else done();
  }
}

async function setUp(options: { holdWrites?: boolean } = {}) {
  const toAgent: Buffer[] = [];
  const exec = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      toAgent.push(chunk);
      done();
    },
  });
  const proxies: FakeProxy[] = [];
  const lines: string[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  ) as unknown as Logger;
  const agent = (bytes: Buffer) => exec.push(stdout(bytes));
  const started = relayOverExec(exec, {
    workstationId: "fixture",
    log,
    connect: () => {
      const proxy = new FakeProxy(options.holdWrites ?? false);
      proxies.push(proxy);
      return proxy;
    },
  });
  agent(frame(0, T.ready, 1));
  const relay: SocketRelay = await started;
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const sent = () => parseFrames(Buffer.concat(toAgent));
  return { relay, agent, proxies, sent, tick, logged: () => lines.join(""), exec };
}

const settled = async (relay: SocketRelay) =>
  Promise.race([relay.done.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))]);

describe("the socket relay's server side", () => {
  it("reads frames split at any byte, passes data and a half-close on, and gives the credit back", async () => {
    const { agent, proxies, sent, tick } = await setUp();
    const bytes = Buffer.concat([
      frame(1, T.open),
      frame(1, T.data, Buffer.from("GET /_ping HTTP/1.1\r\n\r\n")),
      frame(1, T.eof),
    ]);
    for (const byte of bytes) agent(Buffer.from([byte]));
    await tick();
    expect(Buffer.concat(proxies[0]!.received).toString()).toBe("GET /_ping HTTP/1.1\r\n\r\n");
    expect(proxies[0]!.writableEnded).toBe(true);
    expect(sent()).toContainEqual({ id: 1, type: T.credit, payload: Buffer.from([0, 0, 0, 23]) });
    // The proxy's answer, then its end and close, reach the agent in that order.
    proxies[0]!.push("HTTP/1.1 200 OK\r\n\r\nOK");
    proxies[0]!.push(null);
    await tick();
    proxies[0]!.destroy();
    await tick();
    expect(sent().map((f) => f.type)).toEqual([T.credit, T.data, T.eof, T.close]);
  });

  it("sends a slow agent at most its window per channel, and more as credit comes back", async () => {
    const { agent, proxies, sent, tick } = await setUp();
    agent(Buffer.concat([frame(1, T.open), frame(2, T.open)]));
    await tick();
    proxies[0]!.push(Buffer.alloc(RELAY.window * 3));
    proxies[1]!.push(Buffer.from("other"));
    await tick();
    const bytesTo = (id: number) =>
      sent()
        .filter((f) => f.id === id && f.type === T.data)
        .reduce((n, f) => n + f.payload.length, 0);
    expect(bytesTo(1)).toBe(RELAY.window);
    expect(bytesTo(2)).toBe(5); // the other channel is not held up
    agent(frame(1, T.credit, 1000));
    await tick();
    expect(bytesTo(1)).toBe(RELAY.window + 1000);
  });

  it("refuses channels beyond its bound without reaching the proxy", async () => {
    const { agent, proxies, sent, tick } = await setUp();
    const opens = [];
    for (let id = 1; id <= RELAY.serverChannels + 3; id++) opens.push(frame(id, T.open));
    agent(Buffer.concat(opens));
    await tick();
    expect(proxies).toHaveLength(RELAY.serverChannels);
    expect(sent().filter((f) => f.type === T.close)).toHaveLength(3);
  });

  it("drops frames for a channel closed meanwhile", async () => {
    const { relay, agent, proxies, tick } = await setUp();
    agent(frame(1, T.open));
    await tick();
    proxies[0]!.destroy();
    await tick();
    agent(Buffer.concat([frame(1, T.data, Buffer.from("late")), frame(1, T.credit, 10)]));
    await tick();
    expect(await settled(relay)).toBe(false);
  });

  const bad: [string, Buffer, string][] = [
    ["a second READY", frame(0, T.ready, 1), "a second READY"],
    ["an unknown type", frame(1, 9), "unknown type 9"],
    [
      "an OPEN that does not grow",
      Buffer.concat([frame(5, T.open), frame(5, T.open)]),
      "OPEN of channel 5 after 5",
    ],
    ["an OPEN of channel 0", frame(0, T.open), "OPEN of channel 0 after 0"],
    [
      "DATA on a channel never opened",
      frame(7, T.data, Buffer.from("x")),
      "channel 7 was never opened",
    ],
    ["an empty DATA", Buffer.concat([frame(1, T.open), frame(1, T.data)]), "DATA of 0 bytes"],
    [
      "a 4 GiB DATA header",
      Buffer.concat([frame(1, T.open), Buffer.from([0, 0, 0, 1, 2, 255, 255, 255, 255])]),
      "DATA of 4294967295 bytes",
    ],
    [
      "a CREDIT of 3 bytes",
      Buffer.concat([frame(1, T.open), frame(1, T.credit, Buffer.alloc(3))]),
      "type 5 with 3 bytes (must be 4)",
    ],
    [
      "an EOF with a payload",
      Buffer.concat([frame(1, T.open), frame(1, T.eof, Buffer.alloc(1))]),
      "type 3 with 1 bytes (must be 0)",
    ],
    [
      "DATA after EOF",
      Buffer.concat([frame(1, T.open), frame(1, T.eof), frame(1, T.data, Buffer.from("x"))]),
      "DATA after EOF on channel 1",
    ],
    [
      "credit above the window",
      Buffer.concat([frame(1, T.open), frame(1, T.credit, 1)]),
      "credit above the window on channel 1",
    ],
  ];
  for (const [what, bytes, message] of bad)
    it(`ends on ${what}, with a log line naming it`, async () => {
      const { relay, agent, logged, exec } = await setUp();
      agent(bytes);
      expect(await settled(relay)).toBe(true);
      expect(logged()).toContain(`malformed frame from the workstation's agent: ${message}`);
      expect(exec.destroyed).toBe(true);
    });

  it("ends when the agent sends more than the credit it was given", async () => {
    const { relay, agent, logged, proxies } = await setUp({ holdWrites: true });
    const chunk = Buffer.alloc(RELAY.maxFrame);
    const frames = [frame(1, T.open)];
    for (let i = 0; i <= RELAY.window / RELAY.maxFrame; i++) frames.push(frame(1, T.data, chunk));
    agent(Buffer.concat(frames));
    expect(await settled(relay)).toBe(true);
    expect(logged()).toContain(`${RELAY.maxFrame} bytes on channel 1 with 0 of credit`);
    expect(proxies[0]!.destroyed).toBe(true);
  });

  it("rejects the start when the agent ends before READY, with what it said", async () => {
    const exec = new Duplex({ read() {}, write: (_c, _e, done) => done() });
    const started = relayOverExec(exec, {
      workstationId: "fixture",
      log: pino({ level: "silent" }) as unknown as Logger,
      connect: () => new FakeProxy(false),
    });
    const stderr = Buffer.from("socket relay agent: cannot listen on /run/stowage/docker.sock\n");
    const header = Buffer.alloc(8);
    header[0] = 2;
    header.writeUInt32BE(stderr.length, 4);
    exec.push(Buffer.concat([header, stderr]));
    exec.push(null);
    await expect(started).rejects.toThrow("cannot listen on /run/stowage/docker.sock");
  });
});
