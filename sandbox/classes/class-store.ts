import { randomBytes } from "node:crypto";
import type { Database, Queryable } from "../progress/database.ts";
import { publicLearnerId } from "../progress/store.ts";

/**
 * Classes and their members, in the platform database (SQLite or PostgreSQL; tables made by
 * progress/migrations.ts). A member has a random member id: the dashboard and its URLs name students by it,
 * never by the learner id, which is the student's cookie; the table holds the learner's public id
 * (progress/store.ts publicLearnerId), never the cookie.
 */
export interface ClassRecord {
  code: string;
  name: string;
  seats: number;
  startsAt: string;
  endsAt: string;
  createdAt: string;
}

export interface ClassMember {
  memberId: string;
  /** The learner's public id (publicLearnerId), never the cookie. */
  publicId: string;
  name: string;
  joinedAt: string;
}

export type JoinResult = { member: ClassMember; joined: boolean } | { full: true };

export interface ClassStore {
  create(record: ClassRecord): Promise<void>;
  get(code: string): Promise<ClassRecord | undefined>;
  /** Classes not yet ended at `now`, oldest first. */
  active(now: Date): Promise<ClassRecord[]>;
  members(code: string): Promise<ClassMember[]>;
  member(code: string, memberId: string): Promise<ClassMember | undefined>;
  /** The learner's seat in a class not yet ended, if it has one (the newest such class). */
  seatOf(
    learnerId: string,
    now: Date,
  ): Promise<{ record: ClassRecord; member: ClassMember } | undefined>;
  /** Takes a seat (or finds the learner's seat); a new name replaces the old one. */
  join(code: string, learnerId: string, name: string | undefined): Promise<JoinResult>;
  end(code: string, at: Date): Promise<void>;
}

type Row = Record<string, string | number>;
const toClass = (r: Row): ClassRecord => ({
  code: String(r.code),
  name: String(r.name),
  seats: Number(r.seats),
  startsAt: String(r.starts_at),
  endsAt: String(r.ends_at),
  createdAt: String(r.created_at),
});
const toMember = (r: Row): ClassMember => ({
  memberId: String(r.member),
  publicId: String(r.learner),
  name: String(r.name),
  joinedAt: String(r.joined_at),
});

export function openClassStore(db: Database): ClassStore {
  const classOf = async (q: Queryable, code: string) => {
    const row = await q.get<Row>("SELECT * FROM classes WHERE code = ?", [code]);
    return row ? toClass(row) : undefined;
  };
  return {
    async create(r) {
      await db.run(
        "INSERT INTO classes (code, name, seats, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [r.code, r.name, r.seats, r.startsAt, r.endsAt, r.createdAt],
      );
    },
    get: (code) => classOf(db, code),
    async active(now) {
      const rows = await db.all<Row>(
        "SELECT * FROM classes WHERE ends_at > ? ORDER BY created_at, code",
        [now.toISOString()],
      );
      return rows.map(toClass);
    },
    async members(code) {
      const rows = await db.all<Row>(
        "SELECT * FROM class_members WHERE class = ? ORDER BY joined_at, rowid",
        [code],
      );
      return rows.map(toMember);
    },
    async member(code, memberId) {
      const row = await db.get<Row>("SELECT * FROM class_members WHERE class = ? AND member = ?", [
        code,
        memberId,
      ]);
      return row ? toMember(row) : undefined;
    },
    async seatOf(learnerId, now) {
      const row = await db.get<Row>(
        "SELECT m.* FROM class_members m JOIN classes c ON c.code = m.class WHERE m.learner = ? AND c.ends_at > ? ORDER BY m.joined_at DESC LIMIT 1",
        [publicLearnerId(learnerId), now.toISOString()],
      );
      if (!row) return undefined;
      const record = await classOf(db, String(row.class));
      return record ? { record, member: toMember(row) } : undefined;
    },
    join(code, learnerId, name) {
      const publicId = publicLearnerId(learnerId);
      // One transaction holding the class: the seat count and the new seat cannot interleave with
      // another join (SQLite: BEGIN IMMEDIATE; PostgreSQL: the class row locked FOR UPDATE).
      return db.transaction(async (tx): Promise<JoinResult> => {
        const lock = db.dialect === "postgres" ? " FOR UPDATE" : "";
        const seats = Number(
          (await tx.get<Row>(`SELECT seats FROM classes WHERE code = ?${lock}`, [code]))!.seats,
        );
        const existing = await tx.get<Row>(
          "SELECT * FROM class_members WHERE class = ? AND learner = ?",
          [code, publicId],
        );
        if (existing) {
          if (name)
            await tx.run("UPDATE class_members SET name = ? WHERE class = ? AND learner = ?", [
              name,
              code,
              publicId,
            ]);
          return { member: { ...toMember(existing), ...(name ? { name } : {}) }, joined: false };
        }
        const taken = Number(
          (await tx.get<Row>("SELECT COUNT(*) AS n FROM class_members WHERE class = ?", [code]))!.n,
        );
        if (taken >= seats) return { full: true };
        const member = {
          memberId: randomBytes(6).toString("hex"),
          publicId,
          name: name || `Student ${taken + 1}`,
          joinedAt: new Date().toISOString(),
        };
        await tx.run(
          "INSERT INTO class_members (class, learner, member, name, joined_at) VALUES (?, ?, ?, ?, ?)",
          [code, publicId, member.memberId, member.name, member.joinedAt],
        );
        return { member, joined: true };
      });
    },
    async end(code, at) {
      await db.run("UPDATE classes SET ends_at = ? WHERE code = ?", [at.toISOString(), code]);
    },
  };
}
