/**
 * A TCP link with a delay, for the benchmark: it listens on 127.0.0.1 and carries each
 * connection to `target`, holding every chunk `oneWayMs` in each direction (in order), so a
 * remote engine on this host can be measured as if it were `2 × oneWayMs` of round trip away.
 * TLS passes through untouched (the engine's certificate is still checked end to end).
 *
 * A model of latency only: no loss, no bandwidth limit, no jitter; this kernel has no netem
 * (`tc qdisc ... netem` is refused), hence user space. The benchmark says so beside its figures.
 */
import { createServer, connect, type AddressInfo, type Socket } from "node:net";

export interface DelayedLink {
  /** The port it listens on (127.0.0.1). */
  port: number;
  close(): Promise<void>;
}

export async function startDelayedLink(
  target: { host: string; port: number },
  oneWayMs: number,
): Promise<DelayedLink> {
  const sockets = new Set<Socket>();
  const carry = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      // Same delay for every chunk: timers of equal length fire in the order they were set.
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWayMs);
    });
    from.on("end", () => setTimeout(() => to.end(), oneWayMs));
  };
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const engine = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    for (const s of [client, engine]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        engine.destroy();
      });
    }
    carry(client, engine);
    carry(engine, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
