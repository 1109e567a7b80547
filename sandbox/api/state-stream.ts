import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "../docker/engine.ts";
import type { Session } from "../sessions/session.ts";
import { CHECK_CONTAINER_PREFIX, LABEL_ANONYMOUS, LABEL_OWNER } from "../naming/scope.ts";
import { HttpError } from "../http/router.ts";

/**
 * State streams one session may hold open: a lesson page holds one, a few tabs a few. Each open
 * stream is a snapshot (two engine lists) after every change: 200 streams on one session held
 * 17,902 connections and put a neighbour's echo p99 at 171 ms.
 */
export const MAX_STATE_STREAMS = 4;
/** A snapshot is not written while the client has this much unread: the next one replaces it. */
const MAX_UNREAD_BYTES = 256 * 1024;

/** One engine read per session for however many of its streams want a snapshot at the same moment. */
const inFlight = new WeakMap<Session, Promise<SandboxState>>();
function sharedState(session: Session, engine: Engine): Promise<SandboxState> {
  let pending = inFlight.get(session);
  if (!pending) {
    pending = sandboxState(session, engine).finally(() => inFlight.delete(session));
    inFlight.set(session, pending);
  }
  return pending;
}

/** What the state panel draws: the student's containers, volumes and the mounts between them. */
export interface SandboxState {
  containers: {
    id: string;
    name: string;
    image: string;
    state: string;
    mounts: { type: string; source: string; target: string; readOnly: boolean }[];
  }[];
  volumes: { name: string; anonymous: boolean; inUseBy: string[] }[];
}

export async function sandboxState(session: Session, engine: Engine): Promise<SandboxState> {
  const filters = { label: [`${LABEL_OWNER}=${session.id}`] };
  const [containers, volumeList] = await Promise.all([
    engine.docker.listContainers({ all: true, filters }),
    engine.docker.listVolumes({ filters }),
  ]);
  const view = (s: string) => session.view.text(s);
  const shownContainers = containers
    .filter((c) => !(c.Names[0] ?? "").includes(CHECK_CONTAINER_PREFIX))
    .map((c) => ({
      id: c.Id.slice(0, 12),
      name: view(c.Names[0] ?? "").replace(/^\//, ""),
      image: c.Image,
      state: c.State,
      mounts: (c.Mounts ?? []).map((m) => ({
        type: m.Type,
        source: view(m.Type === "volume" ? (m.Name ?? "") : m.Type === "bind" ? m.Source : ""),
        target: m.Destination,
        readOnly: !m.RW,
      })),
    }));
  const volumes = (volumeList.Volumes ?? []).map((v) => {
    const name = view(v.Name);
    return {
      name,
      anonymous: (v.Labels ?? {})[LABEL_ANONYMOUS] === "1",
      inUseBy: shownContainers
        .filter((c) => c.mounts.some((m) => m.type === "volume" && m.source === name))
        .map((c) => c.name),
    };
  });
  return { containers: shownContainers, volumes };
}

/** Server-Sent Events: a snapshot on connect and after every Docker change in the session. */
export function streamState(
  session: Session,
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (session.stateStreams >= MAX_STATE_STREAMS) {
    throw new HttpError(
      429,
      `this sandbox already has ${MAX_STATE_STREAMS} live state streams open (one per open lesson page): close a tab and reload`,
      { retryAfterSeconds: 10 },
    );
  }
  session.stateStreams++;
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let last = "";
  let waitingForDrain = false;
  const send = async () => {
    timer = undefined;
    if (session.checksRunning > 0) return; // sent when the checks are done
    // A client that does not read gets no more until it has: the next snapshot replaces the
    // ones it missed (drain sends it), so an idle tab costs a bounded buffer, not every change.
    if (res.writableLength > MAX_UNREAD_BYTES) {
      if (!waitingForDrain) {
        waitingForDrain = true;
        res.once("drain", () => {
          waitingForDrain = false;
          schedule();
        });
      }
      return;
    }
    try {
      const text = JSON.stringify(await sharedState(session, engine));
      // Only a changed picture is sent: the page re-runs checks on each snapshot, and a check's
      // own throwaway containers must not set off another round.
      if (!closed && text !== last) res.write(`event: snapshot\ndata: ${text}\n\n`);
      last = text;
    } catch {
      if (!closed)
        res.write(
          `event: error\ndata: ${JSON.stringify({ message: "the Docker engine is not answering" })}\n\n`,
        );
    }
  };
  // Bursts of events (docker run makes several) become one snapshot 150 ms later.
  const schedule = () => (timer ??= setTimeout(() => void send(), 150));
  const unsubscribe = session.onEvent(schedule);
  const unsubscribeChecks = session.onChecksDone(schedule);
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 25_000);
  // The response's close: the connection ended (the request's may come as soon as it is read).
  res.on("close", () => {
    if (!closed) session.stateStreams--;
    closed = true;
    unsubscribe();
    unsubscribeChecks();
    clearInterval(keepAlive);
    clearTimeout(timer);
  });
  void send();
}
