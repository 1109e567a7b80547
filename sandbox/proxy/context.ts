/**
 * What a resource's handler is given: the session (its scope, the engine, the student's view,
 * its objects and budgets), one request, and the shape of a route in the table (routes.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Engine } from "../docker/engine.ts";
import type { Logger } from "../log.ts";
import type { SessionScope } from "../naming/scope.ts";
import type { Json } from "./fields.ts";
import type { StudentView } from "./rewrite.ts";
import type { Mutex, RateBudget } from "./session-budget.ts";
import type { OwnedObjects } from "./session-objects.ts";

/** What `docker cp` into a container may still bring: the session's disk quota minus use. */
export interface ArchiveAllowance {
  remaining(): Promise<number> | number;
  charge(bytes: number): void;
}

/** One session's proxy, as its handlers see it. */
export interface SessionContext {
  readonly scope: SessionScope;
  readonly engine: Engine;
  readonly log: Logger;
  readonly view: StudentView;
  readonly objects: OwnedObjects;
  /** The workstation container, which the student never sees and which joins their networks. */
  readonly workstationId: () => string | undefined;
  /** Called after a container starts, before the student's CLI hears so (port forwards). */
  readonly onContainerStarted: (id: string) => Promise<void>;
  /** Called when a start has waited a while for the engine, with the starts waiting. */
  readonly onStartQueued: ((waiting: number) => void) | undefined;
  /** True once the proxy is closing: no new engine work is started. */
  readonly closing: () => boolean;
  /** One quota check and the create it guards at a time. */
  readonly quotaLock: Mutex;
  /** One `docker cp` into a container at a time. */
  readonly archiveLock: Mutex;
  readonly execBudget: RateBudget;
  readonly diskUsageBudget: RateBudget;
  /** The exec IDs this session made (the only ones it may start or inspect). */
  readonly execIds: Set<string>;
  archiveAllowance: ArchiveAllowance;
}

/** One matched request. */
export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path without the API version prefix, e.g. /containers/json. */
  path: string;
  /** The route's captured path parts, decoded. */
  params: string[];
  /** The query parameters the route passes on; anything else was dropped. */
  query: URLSearchParams;
}

export type Handler = (session: SessionContext, request: RouteRequest) => Promise<void>;

/** For the hijacked routes (attach, exec start): what to ask the engine to upgrade. */
export type UpgradeHandler = (
  session: SessionContext,
  request: { req: IncomingMessage; params: string[]; client: Duplex; head: Buffer },
) => Promise<{ path: string; body?: Json; head: Buffer }>;

/** A row of the route table: a method and path pattern, and what is done with it. */
export interface Route {
  method: string;
  path: RegExp;
  /** Query parameters passed on (anything else is dropped). */
  query: string[];
  handle?: Handler;
  /** A streaming answer (logs -f, stats, events, wait, export), counted against the session's stream bound. */
  stream?: boolean;
  upgrade?: UpgradeHandler;
  /** Set for endpoints that exist in the engine but never here, with the reason. */
  refused?: string;
}

/** Captures one path segment (a name or an ID). */
export const ID = "([^/]+)";

export const route = (
  method: string,
  path: string,
  handle: Handler,
  query: string[] = [],
  extra: Pick<Route, "stream" | "upgrade"> = {},
): Route => ({ method, path: new RegExp(`^${path}$`), handle, query, ...extra });

export const refused = (method: string, path: string, why: string): Route => ({
  method,
  path: new RegExp(`^${path}$`),
  query: [],
  refused: why,
});
