/**
 * A stand-in for an engine that dropped the old API versions (Docker Engine 29 answers only 1.44
 * and newer): a unix socket in front of the real engine that refuses any request under `floor`
 * with Engine 29's own message, and says `MinAPIVersion: floor` in /version. Everything else,
 * streams and upgraded connections (exec, attach) included, goes through unchanged.
 */
import { connect } from "node:net";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { rm } from "node:fs/promises";
import { compareApiVersions } from "../sandbox/docker/engine.ts";

const VERSIONED = /^\/v(\d+\.\d+)(\/|$)/;

export class EngineFloorRelay {
  private server: Server | undefined;
  private readonly upgraded = new Set<{ destroy(): void }>();
  /** Requests it refused for their version, as "METHOD /vX.Y/path". */
  readonly refused: string[] = [];
  readonly path: string;
  private readonly engineSocket: string;
  private readonly floor: string;
  constructor(path: string, engineSocket: string, floor: string) {
    this.path = path;
    this.engineSocket = engineSocket;
    this.floor = floor;
  }

  private tooOld(req: IncomingMessage): string | undefined {
    const version = VERSIONED.exec(req.url ?? "")?.[1];
    if (version === undefined || compareApiVersions(version, this.floor) >= 0) return undefined;
    this.refused.push(`${req.method} ${req.url}`);
    return `client version ${version} is too old. Minimum supported API version is ${this.floor}, please upgrade your client to a newer version`;
  }

  async start(): Promise<void> {
    await rm(this.path, { force: true });
    const server = createServer((req, res) => {
      const refusal = this.tooOld(req);
      if (refusal) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: refusal }));
        return;
      }
      const isVersion = (req.url ?? "").replace(VERSIONED, "/").split("?")[0] === "/version";
      const upstream = request(
        { socketPath: this.engineSocket, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if (!isVersion) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.flushHeaders(); // `wait` answers its headers at once and its body at exit
            answer.pipe(res);
            return;
          }
          let text = "";
          answer.setEncoding("utf8");
          answer.on("data", (chunk: string) => (text += chunk));
          answer.on("end", () => {
            const body = JSON.stringify({ ...JSON.parse(text), MinAPIVersion: this.floor });
            res.writeHead(answer.statusCode ?? 200, { "content-type": "application/json" });
            res.end(body);
          });
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    server.on("upgrade", (req: IncomingMessage, client, head: Buffer) => {
      const refusal = this.tooOld(req);
      if (refusal) {
        const body = JSON.stringify({ message: refusal });
        client.end(
          `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      const engine = connect({ path: this.engineSocket });
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      engine.write(lines.join("\r\n") + "\r\n\r\n");
      if (head.length) engine.write(head);
      engine.pipe(client).pipe(engine);
      for (const s of [client, engine]) {
        this.upgraded.add(s);
        s.on("close", () => this.upgraded.delete(s));
        s.on("error", () => {
          client.destroy();
          engine.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    for (const s of this.upgraded) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}
