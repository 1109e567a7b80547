import { randomBytes } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { publicLearnerId } from "../progress/store.ts";

/**
 * Classes and their members, in the progress database (tables made by progress/store.ts's
 * migrations). A member has a random member id: the dashboard and its URLs name students by it,
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
  create(record: ClassRecord): void;
  get(code: string): ClassRecord | undefined;
  /** Classes not yet ended at `now`, oldest first. */
  active(now: Date): ClassRecord[];
  members(code: string): ClassMember[];
  member(code: string, memberId: string): ClassMember | undefined;
  /** The learner's seat in a class not yet ended, if it has one (the newest such class). */
  seatOf(learnerId: string, now: Date): { record: ClassRecord; member: ClassMember } | undefined;
  /** Takes a seat (or finds the learner's seat); a new name replaces the old one. */
  join(code: string, learnerId: string, name: string | undefined): JoinResult;
  end(code: string, at: Date): void;
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

export function openClassStore(db: DatabaseSync): ClassStore {
  const insertClass = db.prepare(
    "INSERT INTO classes (code, name, seats, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const selectClass = db.prepare("SELECT * FROM classes WHERE code = ?");
  const selectActive = db.prepare("SELECT * FROM classes WHERE ends_at > ? ORDER BY created_at");
  const selectMembers = db.prepare(
    "SELECT * FROM class_members WHERE class = ? ORDER BY joined_at, rowid",
  );
  const selectMember = db.prepare("SELECT * FROM class_members WHERE class = ? AND member = ?");
  const selectSeat = db.prepare(
    "SELECT m.* FROM class_members m JOIN classes c ON c.code = m.class WHERE m.learner = ? AND c.ends_at > ? ORDER BY m.joined_at DESC LIMIT 1",
  );
  const selectOwnSeat = db.prepare("SELECT * FROM class_members WHERE class = ? AND learner = ?");
  const countMembers = db.prepare("SELECT COUNT(*) AS n FROM class_members WHERE class = ?");
  const insertMember = db.prepare(
    "INSERT INTO class_members (class, learner, member, name, joined_at) VALUES (?, ?, ?, ?, ?)",
  );
  const renameMember = db.prepare(
    "UPDATE class_members SET name = ? WHERE class = ? AND learner = ?",
  );
  const updateEnd = db.prepare("UPDATE classes SET ends_at = ? WHERE code = ?");

  return {
    create(r) {
      insertClass.run(r.code, r.name, r.seats, r.startsAt, r.endsAt, r.createdAt);
    },
    get(code) {
      const row = selectClass.get(code) as Row | undefined;
      return row ? toClass(row) : undefined;
    },
    active(now) {
      return (selectActive.all(now.toISOString()) as Row[]).map(toClass);
    },
    members(code) {
      return (selectMembers.all(code) as Row[]).map(toMember);
    },
    member(code, memberId) {
      const row = selectMember.get(code, memberId) as Row | undefined;
      return row ? toMember(row) : undefined;
    },
    seatOf(learnerId, now) {
      const row = selectSeat.get(publicLearnerId(learnerId), now.toISOString()) as Row | undefined;
      if (!row) return undefined;
      const member = toMember(row);
      const record = this.get(String(row.class));
      return record ? { record, member } : undefined;
    },
    join(code, learnerId, name) {
      const publicId = publicLearnerId(learnerId);
      // One transaction: the seat count and the new seat cannot interleave with another join.
      db.exec("BEGIN IMMEDIATE");
      try {
        const existing = selectOwnSeat.get(code, publicId) as Row | undefined;
        let result: JoinResult;
        if (existing) {
          if (name) renameMember.run(name, code, publicId);
          result = { member: { ...toMember(existing), ...(name ? { name } : {}) }, joined: false };
        } else {
          const seats = Number((selectClass.get(code) as Row).seats);
          const taken = Number((countMembers.get(code) as Row).n);
          if (taken >= seats) result = { full: true };
          else {
            const memberId = randomBytes(6).toString("hex");
            const member = {
              memberId,
              publicId,
              name: name || `Student ${taken + 1}`,
              joinedAt: new Date().toISOString(),
            };
            insertMember.run(code, publicId, memberId, member.name, member.joinedAt);
            result = { member, joined: true };
          }
        }
        db.exec("COMMIT");
        return result;
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    },
    end(code, at) {
      updateEnd.run(at.toISOString(), code);
    },
  };
}
