/**
 * The volumes a `POST /containers/create` needs (named ones that do not exist yet, anonymous ones
 * for `-v /path` and the image's VOLUMEs), planned while the policy checks the request and made
 * only once all of it passed and the session's volume quota holds them. Before, each was created
 * as the policy met it: a request with 4000 `Volumes` entries and a missing network was refused
 * after leaving 4000 volumes behind (issue 16). The caller holds the session's quota lock.
 */
import { randomBytes } from "node:crypto";
import type { Engine } from "../docker/engine.ts";
import { LABEL_ANONYMOUS, LABEL_OWNER, type SessionScope } from "../naming/scope.ts";
import { engineJson } from "./engine-http.ts";
import { PolicyError } from "./refusal.ts";
import type { SessionObjects } from "./session-objects.ts";
import type { StudentView } from "./rewrite.ts";

export class PlannedVolumes {
  /** Engine name -> labels, in the order the policy asked for them. */
  private readonly planned = new Map<string, Record<string, string>>();
  private readonly created: string[] = [];

  private readonly scope: SessionScope;
  private readonly engine: Engine;
  private readonly view: StudentView;

  constructor(scope: SessionScope, engine: Engine, view: StudentView) {
    this.scope = scope;
    this.engine = engine;
    this.view = view;
  }

  /** The session's lookups, with volume creation deferred to commit(). */
  objects(base: SessionObjects): SessionObjects {
    return {
      scope: base.scope,
      containerId: (ref) => base.containerId(ref),
      networkName: (ref) => base.networkName(ref),
      imageVolumes: (image) => base.imageVolumes(image),
      resolveImage: (ref) => base.resolveImage(ref), // [builds hook]
      hostPath: (path) => base.hostPath(path),
      homeIsVolume: base.homeIsVolume,
      homePlace: (path, create) => base.homePlace(path, create),
      counts: () => base.counts(),
      volumeForMount: (name) => this.volumeForMount(name),
      anonymousVolume: async () =>
        this.plan(this.scope.engineName(randomBytes(32).toString("hex")), {
          [LABEL_ANONYMOUS]: "1",
        }),
    };
  }

  private async volumeForMount(studentName: string): Promise<string> {
    const engineName = this.scope.engineName(studentName);
    if (this.planned.has(engineName) || (await this.exists(engineName))) return engineName;
    return this.plan(engineName, {});
  }

  private plan(engineName: string, labels: Record<string, string>): string {
    this.planned.set(engineName, labels);
    return engineName;
  }

  private async exists(engineName: string): Promise<boolean> {
    const query = new URLSearchParams({
      filters: JSON.stringify({ name: [engineName], label: [this.scope.ownerFilter()] }),
    });
    const { body } = await engineJson<{
      Volumes?: { Name: string; Labels: Record<string, string> | null }[];
    }>(this.engine, { method: "GET", path: "/volumes", query });
    return (body?.Volumes ?? []).some(
      (v) => v.Name === engineName && v.Labels?.[LABEL_OWNER] === this.scope.sessionId,
    );
  }

  /** Creates the planned volumes if the session's count stays within `limit`; else refuses, creating none. */
  async commit(limit: number): Promise<void> {
    if (this.planned.size === 0) return;
    const query = new URLSearchParams({
      filters: JSON.stringify({ label: [this.scope.ownerFilter()] }),
    });
    const { body } = await engineJson<{ Volumes?: unknown[] }>(this.engine, {
      method: "GET",
      path: "/volumes",
      query,
    });
    const existing = body?.Volumes?.length ?? 0;
    if (existing + this.planned.size > limit) {
      throw new PolicyError(
        `this sandbox holds at most ${limit} volumes, anonymous ones included; this container needs ${this.planned.size} new and you have ${existing}: remove some with docker volume rm (docker volume prune removes unused ones)`,
        409,
      );
    }
    for (const [name, labels] of this.planned) {
      const { status, body: answer } = await engineJson<{ message?: string }>(this.engine, {
        method: "POST",
        path: "/volumes/create",
        json: { Name: name, Driver: "local", Labels: { ...labels, ...this.scope.ownedLabels() } },
      });
      if (status >= 300) {
        await this.rollback();
        throw new PolicyError(this.view.text(answer?.message ?? "volume create failed"), status);
      }
      this.created.push(name);
    }
  }

  /** Removes what commit() made (the create it was for failed). */
  async rollback(): Promise<void> {
    for (const name of this.created.splice(0))
      await engineJson(this.engine, { method: "DELETE", path: `/volumes/${name}` }).catch(
        () => undefined,
      );
  }
}
