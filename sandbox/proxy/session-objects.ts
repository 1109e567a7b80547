/**
 * The session's own objects, found by label: every name or ID a student's request carries is
 * resolved here, and answers only with what the session owns (a neighbour's object is "not found").
 */
import { randomBytes } from "node:crypto";
import type { Engine } from "../docker/engine.ts";
import { LABEL_ANONYMOUS, LABEL_OWNER, type SessionScope } from "../naming/scope.ts";
import { engineJson } from "./engine-http.ts";
import { imageRef } from "./fields.ts";
import { LIMITS } from "./limits.ts";
import { PolicyError } from "./refusal.ts";
import type { StudentView } from "./rewrite.ts";
import { workspaceHostPath } from "./workspace-paths.ts";
import { homePlace, type HomePlace } from "./home-volume.ts";
import { SessionImages } from "./own-images.ts";

/** Lookups the proxy provides; each answers only with the session's own objects. */
export interface SessionObjects {
  scope: SessionScope;
  /** The full ID of the session's container named or ID(-prefixed) by `ref`, or a 404 PolicyError. */
  containerId(ref: string): Promise<string>;
  /** The engine's reference for an image the student names: their own or a course image, else a 404 PolicyError (own-images.ts). */
  resolveImage(ref: string): Promise<string>;
  /** The engine name of the session's volume, creating it (owned, labelled) if it does not exist. */
  volumeForMount(studentName: string): Promise<string>;
  /** Creates a labelled volume standing in for an anonymous one; returns its engine name. */
  anonymousVolume(): Promise<string>;
  /** The engine name of the session's network called `ref`, or a 404 PolicyError. */
  networkName(ref: string): Promise<string>;
  /** The VOLUME paths an image declares, or a 404 PolicyError (`No such image`). */
  imageVolumes(image: string): Promise<string[]>;
  /** The host path of a student's path in the workspace, or undefined when outside it. */
  hostPath(studentPath: string): Promise<string | undefined>;
  /** True on a remote engine: the home is the volume scope.homeVolumeName there, not a folder of this server. */
  readonly homeIsVolume: boolean;
  /** On a remote engine: where a student's path is in the home volume, resolved in the workstation (home-volume.ts). */
  homePlace(studentPath: string, create: boolean): Promise<HomePlace>;
  /** How many containers / volumes the session has now. */
  counts(): Promise<{ containers: number; volumes: number; networks: number }>;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  State?: string;
  /** The image it runs, by ID (the engine's list gives it). */
  ImageID?: string;
}
export interface VolumeSummary {
  Name: string;
  Labels: Record<string, string> | null;
}
export interface NetworkSummary {
  Id: string;
  Name: string;
  Containers?: Record<string, unknown>;
}

/** SessionObjects over the engine, for one session. */
export class OwnedObjects implements SessionObjects {
  readonly scope: SessionScope;
  private readonly engine: Engine;
  private readonly view: StudentView;
  private readonly workstationId: () => string | undefined;

  constructor(
    scope: SessionScope,
    engine: Engine,
    view: StudentView,
    workstationId: () => string | undefined = () => undefined,
  ) {
    this.scope = scope;
    this.engine = engine;
    this.view = view;
    this.workstationId = workstationId;
  }

  get homeIsVolume(): boolean {
    return this.engine.remote;
  }

  homePlace(studentPath: string, create: boolean): Promise<HomePlace> {
    return homePlace(this.engine, this.workstationId(), studentPath, create);
  }

  async ownedContainers(): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({
      all: "1",
      filters: JSON.stringify({ label: [this.scope.ownerFilter()] }),
    });
    const { body } = await engineJson<ContainerSummary[]>(this.engine, {
      method: "GET",
      path: "/containers/json",
      query,
    });
    return (body ?? []).filter((c) => c.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  async ownedVolumes(): Promise<VolumeSummary[]> {
    const query = new URLSearchParams({
      filters: JSON.stringify({ label: [this.scope.ownerFilter()] }),
    });
    const { body } = await engineJson<{ Volumes?: VolumeSummary[] }>(this.engine, {
      method: "GET",
      path: "/volumes",
      query,
    });
    return (body?.Volumes ?? []).filter((v) => v.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  async ownedNetworks(): Promise<NetworkSummary[]> {
    const query = new URLSearchParams({
      filters: JSON.stringify({ label: [this.scope.ownerFilter()] }),
    });
    const { body } = await engineJson<(NetworkSummary & { Labels?: Record<string, string> })[]>(
      this.engine,
      { method: "GET", path: "/networks", query },
    );
    return (body ?? []).filter((n) => n.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  /** The session's containers matching an engine filter: the engine filters, so a lookup does not parse the whole list. */
  private async ownedContainersWhere(
    filter: Record<string, string[]>,
  ): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({
      all: "1",
      filters: JSON.stringify({ ...filter, label: [this.scope.ownerFilter()] }),
    });
    const { body } = await engineJson<ContainerSummary[]>(this.engine, {
      method: "GET",
      path: "/containers/json",
      query,
    });
    return (body ?? []).filter((c) => c.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  resolveImage(ref: string): Promise<string> {
    return new SessionImages(this.engine, this.scope).resolve(ref);
  }

  async containerId(ref: string): Promise<string> {
    const wanted = "/" + this.scope.engineName(ref);
    // Names are checked before they become a pattern (the engine reads name filters as regexps).
    if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/.test(ref)) {
      const byName = (
        await this.ownedContainersWhere({ name: [`^${wanted.replaceAll(".", "\\.")}$`] })
      ).find((c) => c.Names.includes(wanted));
      if (byName) return byName.Id;
    }
    if (/^[a-f0-9]{1,64}$/.test(ref)) {
      const byId = (await this.ownedContainersWhere({ id: [ref] })).filter((c) =>
        c.Id.startsWith(ref),
      );
      if (byId.length === 1) return byId[0]!.Id;
      if (byId.length > 1)
        throw new PolicyError(`multiple containers match the ID prefix ${ref}`, 400);
    }
    throw new PolicyError(`No such container: ${ref}`, 404);
  }

  async volumeName(ref: string): Promise<string> {
    const engineName = this.scope.engineName(ref);
    if ((await this.ownedVolumes()).some((v) => v.Name === engineName)) return engineName;
    throw new PolicyError(`get ${ref}: no such volume`, 404);
  }

  async volumeForMount(studentName: string): Promise<string> {
    const engineName = this.scope.engineName(studentName);
    const volumes = await this.ownedVolumes();
    if (volumes.some((v) => v.Name === engineName)) return engineName;
    if (volumes.length >= LIMITS.volumesPerSession)
      throw new PolicyError(
        `this sandbox holds at most ${LIMITS.volumesPerSession} volumes; remove some with docker volume rm`,
        409,
      );
    await this.createVolume(engineName, {});
    return engineName;
  }

  async anonymousVolume(): Promise<string> {
    const engineName = this.scope.engineName(randomBytes(32).toString("hex"));
    // The engine's own mark too: from API 1.42 `docker volume prune` removes only volumes so marked.
    await this.createVolume(engineName, {
      [LABEL_ANONYMOUS]: "1",
      "com.docker.volume.anonymous": "",
    });
    return engineName;
  }

  private async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    const { status, body } = await engineJson<{ message?: string }>(this.engine, {
      method: "POST",
      path: "/volumes/create",
      json: { Name: name, Driver: "local", Labels: { ...labels, ...this.scope.ownedLabels() } },
    });
    if (status >= 300)
      throw new PolicyError(this.view.text(body?.message ?? "volume create failed"), status);
  }

  async networkName(ref: string): Promise<string> {
    if (ref === "bridge" || ref === "default") return this.scope.networkName;
    const networks = await this.ownedNetworks();
    const byName = networks.find((n) => n.Name === this.scope.engineName(ref));
    if (byName) return byName.Name;
    const byId = /^[a-f0-9]{3,64}$/.test(ref) ? networks.filter((n) => n.Id.startsWith(ref)) : [];
    if (byId.length === 1) return byId[0]!.Name;
    throw new PolicyError(`network ${ref} not found`, 404);
  }

  async imageVolumes(image: string): Promise<string[]> {
    const { status, body } = await engineJson<{
      Config?: { Volumes?: Record<string, unknown> | null };
    }>(this.engine, { method: "GET", path: `/images/${imageRef(image)}/json` });
    if (status === 404) throw new PolicyError(`No such image: ${image}`, 404);
    if (status >= 300) throw new PolicyError(`cannot inspect the image ${image}`, status);
    return Object.keys(body?.Config?.Volumes ?? {});
  }

  /** The engine's path for a student's bind source: checked in the home, named through the view that follows no link. */
  async hostPath(studentPath: string): Promise<string | undefined> {
    if (this.engine.remote) return undefined; // no folder of this server is the engine's (home-volume.ts)
    const checked = await workspaceHostPath(studentPath, this.scope.workspaceDir);
    return checked === undefined
      ? undefined
      : this.scope.bindDir + checked.slice(this.scope.workspaceDir.length);
  }

  async counts(): Promise<{ containers: number; volumes: number; networks: number }> {
    const [containers, volumes, networks] = await Promise.all([
      this.ownedContainers(),
      this.ownedVolumes(),
      this.ownedNetworks(),
    ]);
    return {
      containers: containers.length,
      volumes: volumes.length,
      networks: networks.filter((n) => n.Name !== this.scope.networkName).length,
    };
  }
}
