import type { Database } from "./database.ts";
import { publicLearnerId } from "./store.ts";

/**
 * Which learner owns which live session, per server instance, in the platform database: the
 * session manager holds the same in memory (Session.owner, the cookie value); this copy survives
 * the server, for a server that adopts its sandboxes again after a restart. It holds the public
 * id only, never the cookie: a restarted server matches a returning cookie by hashing it.
 */
export interface SessionOwner {
  session: string;
  /** The owner's public id (publicLearnerId). */
  publicId: string;
  startedAt: string;
}

export interface SessionOwners {
  /** Records (or moves) a session's owner; `learnerId` is the cookie's id, stored hashed. */
  record(instance: string, session: string, learnerId: string): Promise<void>;
  forget(session: string): Promise<void>;
  /** Forgets every session of the instance (its start-up cleanup removed them all). */
  forgetInstance(instance: string): Promise<void>;
  /** The instance's recorded sessions, oldest first. */
  list(instance: string): Promise<SessionOwner[]>;
  /** Whether this cookie's learner owns the session. */
  owns(instance: string, session: string, learnerId: string): Promise<boolean>;
}

export function sessionOwners(db: Database): SessionOwners {
  return {
    async record(instance, session, learnerId) {
      await db.run(
        `INSERT INTO session_owners (session, instance, learner, started_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (session) DO UPDATE SET instance = excluded.instance, learner = excluded.learner`,
        [session, instance, publicLearnerId(learnerId), new Date().toISOString()],
      );
    },
    async forget(session) {
      await db.run("DELETE FROM session_owners WHERE session = ?", [session]);
    },
    async forgetInstance(instance) {
      await db.run("DELETE FROM session_owners WHERE instance = ?", [instance]);
    },
    async list(instance) {
      const rows = await db.all<{ session: string; learner: string; started_at: string }>(
        "SELECT session, learner, started_at FROM session_owners WHERE instance = ? ORDER BY started_at, session",
        [instance],
      );
      return rows.map((r) => ({
        session: r.session,
        publicId: r.learner,
        startedAt: r.started_at,
      }));
    },
    async owns(instance, session, learnerId) {
      const row = await db.get(
        "SELECT 1 AS found FROM session_owners WHERE instance = ? AND session = ? AND learner = ?",
        [instance, session, publicLearnerId(learnerId)],
      );
      return row !== undefined;
    },
  };
}
