import type { IncomingMessage } from "node:http";
import { networkInterfaces } from "node:os";
import type { Config } from "../config.ts";

/**
 * Which browser Origins may drive this server: open a terminal, or send a non-GET API request.
 * Compared with the configured public origin (STOWAGE_PUBLIC_ORIGIN), never with the request's
 * own Host header, which the page that sends the request chooses (DNS rebinding: a hostile
 * name that resolves to this server sends `Host` and `Origin` that agree with each other).
 */
export function allowedOrigins(
  config: Pick<Config, "publicOrigin" | "allowedOrigins" | "host">,
  port: number,
): Set<string> {
  const origins = new Set(
    (config.allowedOrigins ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  );
  if (config.publicOrigin) {
    origins.add(config.publicOrigin);
    return origins;
  }
  // No public origin given: the server's own addresses, as a browser on this machine (or, when
  // it listens on every interface, on the class network by IP) would name them.
  const hosts = new Set<string>();
  if (config.host === "0.0.0.0" || config.host === "::") {
    hosts.add("localhost");
    for (const list of Object.values(networkInterfaces())) {
      for (const address of list ?? [])
        hosts.add(
          address.family === "IPv6" ? `[${address.address.split("%")[0]}]` : address.address,
        );
    }
  } else {
    hosts.add(config.host.includes(":") ? `[${config.host}]` : config.host);
    if (config.host === "127.0.0.1" || config.host === "::1") hosts.add("localhost");
  }
  for (const host of hosts) {
    origins.add(`http://${host}:${port}`);
    if (port === 80) origins.add(`http://${host}`);
  }
  return origins;
}

/** Whether a request's Origin (when it has one: browsers always send it on these) is allowed. */
export function originAllowed(req: IncomingMessage, allowed: Set<string>): boolean {
  const origin = req.headers.origin;
  return origin === undefined || allowed.has(origin);
}

/** Methods a browser page may not send to the API from another origin (they change state). */
export function changesState(method: string | undefined): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method ?? "GET");
}
