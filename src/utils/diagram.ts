/**
 * Draws containers, their mounts and the storage behind them as an SVG string. Pure: used at
 * build time by <Diagram> and in the browser by the live state panel.
 */

export type MountType = "volume" | "bind" | "tmpfs";

export interface DiagramMount {
  type: MountType;
  /** Volume name, host/workspace path for a bind, "" for tmpfs. */
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface DiagramContainer {
  name: string;
  image?: string;
  /** "running", "exited", "created", ... or "removed" for a container that just went away. */
  state?: string;
  mounts?: DiagramMount[];
}

export interface DiagramVolume {
  name: string;
  anonymous?: boolean;
  inUseBy?: string[];
}

export interface DiagramModel {
  containers: DiagramContainer[];
  volumes: Array<string | DiagramVolume>;
}

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]!);
}

function short(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

export function volumeLabel(v: DiagramVolume): string {
  return v.anonymous ? `anonymous ${v.name.slice(0, 8)}` : v.name;
}

interface StorageItem {
  key: string;
  kind: MountType;
  label: string;
  sub: string;
  y: number;
}

const W = 560;
const CX = 8;
const CW = 210;
const SX = 350;
const SW = 200;
const ROW = 20;
const HEAD = 44;
const GAP = 14;
const ITEM_H = 56;

/** A sentence describing the picture, for screen readers and as the SVG's <desc>. */
export function describeDiagram(model: DiagramModel): string {
  const vols = model.volumes.map((v) => (typeof v === "string" ? { name: v } : v));
  if (model.containers.length === 0 && vols.length === 0)
    return "No containers and no volumes yet.";
  const parts: string[] = [];
  for (const c of model.containers) {
    const mounts = c.mounts ?? [];
    const state = c.state ? ` (${c.state === "exited" ? "stopped" : c.state})` : "";
    const m = mounts.length
      ? mounts
          .map((mt) =>
            mt.type === "tmpfs"
              ? `tmpfs at ${mt.target}`
              : `${mt.type} ${mt.source || "?"} at ${mt.target}${mt.readOnly ? " read-only" : ""}`,
          )
          .join(", ")
      : "no mounts";
    parts.push(`Container ${c.name}${state}: ${m}.`);
  }
  if (vols.length) parts.push(`Volumes: ${vols.map(volumeLabel).join(", ")}.`);
  return parts.join(" ");
}

export function renderDiagramSvg(
  model: DiagramModel,
  options: { title?: string; idPrefix?: string } = {},
): string {
  const id = options.idPrefix ?? "dg";
  const vols: DiagramVolume[] = model.volumes.map((v) => (typeof v === "string" ? { name: v } : v));
  const storage: StorageItem[] = [];
  const byKey = new Map<string, StorageItem>();
  const addItem = (key: string, kind: MountType, label: string, sub: string) => {
    if (byKey.has(key)) return;
    const item = { key, kind, label, sub, y: 0 };
    storage.push(item);
    byKey.set(key, item);
  };
  for (const v of vols)
    addItem(
      `volume:${v.name}`,
      "volume",
      volumeLabel(v),
      v.anonymous ? "anonymous volume" : "volume",
    );
  model.containers.forEach((c, ci) =>
    (c.mounts ?? []).forEach((m, mi) => {
      if (m.type === "volume")
        addItem(`volume:${m.source}`, "volume", m.source || "volume", "volume");
      else if (m.type === "bind")
        addItem(`bind:${m.source}`, "bind", m.source || "host folder", "bind: host folder");
      else addItem(`tmpfs:${ci}:${mi}`, "tmpfs", "tmpfs", "in memory only");
    }),
  );

  let y = 8;
  const boxes = model.containers.map((c) => {
    const h = HEAD + Math.max(1, (c.mounts ?? []).length) * ROW + 6;
    const box = { c, y, h };
    y += h + GAP;
    return box;
  });
  const leftH = y;
  y = 8;
  for (const s of storage) {
    s.y = y;
    y += ITEM_H + GAP;
  }
  const height = Math.max(leftH, y, 60);

  const out: string[] = [];
  const title = options.title ?? "Containers, volumes and mounts";
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-labelledby="${id}-t ${id}-d">`,
    `<title id="${id}-t">${escapeXml(title)}</title><desc id="${id}-d">${escapeXml(describeDiagram(model))}</desc>`,
  );
  if (model.containers.length === 0 && storage.length === 0) {
    out.push(
      `<text class="dg-empty" x="${W / 2}" y="34" text-anchor="middle">No containers and no volumes yet.</text>`,
    );
  }

  // Links first, so boxes draw over their ends.
  boxes.forEach(({ c, y: by }, ci) => {
    (c.mounts ?? []).forEach((m, mi) => {
      const key =
        m.type === "volume"
          ? `volume:${m.source}`
          : m.type === "bind"
            ? `bind:${m.source}`
            : `tmpfs:${ci}:${mi}`;
      const item = byKey.get(key);
      if (!item) return;
      const y1 = by + HEAD + mi * ROW + ROW / 2 - 4;
      const y2 = item.y + ITEM_H / 2;
      const x1 = CX + CW;
      const x2 = SX;
      const mid = (x1 + x2) / 2;
      const cls = `dg-link dg-${m.type}${m.readOnly ? " dg-ro" : ""}${c.state === "removed" ? " dg-gone" : ""}`;
      out.push(`<path class="${cls}" d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}"/>`);
      out.push(`<circle class="dg-port" cx="${x1}" cy="${y1}" r="3"/>`);
    });
  });

  for (const { c, y: by, h } of boxes) {
    const state = c.state ?? "";
    const stateCls =
      state === "running"
        ? "dg-running"
        : state === "removed"
          ? "dg-removed"
          : state
            ? "dg-stopped"
            : "";
    out.push(`<g class="dg-container ${stateCls}">`);
    out.push(`<rect class="dg-box" x="${CX}" y="${by}" width="${CW}" height="${h}" rx="8"/>`);
    out.push(
      `<text class="dg-name" x="${CX + 12}" y="${by + 20}">${escapeXml(short(c.name, 22))}</text>`,
    );
    const sub = [c.image ? short(c.image, 18) : "", state === "exited" ? "stopped" : state]
      .filter(Boolean)
      .join(" · ");
    if (sub)
      out.push(`<text class="dg-sub" x="${CX + 12}" y="${by + 36}">${escapeXml(sub)}</text>`);
    if (state === "running")
      out.push(`<circle class="dg-dot" cx="${CX + CW - 14}" cy="${by + 16}" r="5"/>`);
    const mounts = c.mounts ?? [];
    if (mounts.length === 0) {
      out.push(
        `<text class="dg-path dg-muted" x="${CX + 12}" y="${by + HEAD + 10}">writable layer only</text>`,
      );
    }
    mounts.forEach((m, mi) => {
      const ty = by + HEAD + mi * ROW + 10;
      out.push(
        `<text class="dg-path" x="${CX + 12}" y="${ty}">${escapeXml(short(m.target, 24))}${m.readOnly ? " (ro)" : ""}</text>`,
      );
    });
    out.push(`</g>`);
  }

  for (const s of storage) {
    const x = SX;
    const yy = s.y;
    out.push(`<g class="dg-store dg-store-${s.kind}">`);
    if (s.kind === "volume") {
      // A cylinder.
      out.push(
        `<path class="dg-shape" d="M${x} ${yy + 8} v${ITEM_H - 16} a${SW / 2} 8 0 0 0 ${SW} 0 v-${ITEM_H - 16} a${SW / 2} 8 0 0 0 -${SW} 0 a${SW / 2} 8 0 0 0 ${SW} 0"/>`,
      );
    } else if (s.kind === "bind") {
      // A folder.
      out.push(
        `<path class="dg-shape" d="M${x} ${yy + 4} h60 l8 8 h${SW - 68} v${ITEM_H - 12} h-${SW} z"/>`,
      );
    } else {
      out.push(
        `<rect class="dg-shape" x="${x}" y="${yy + 2}" width="${SW}" height="${ITEM_H - 4}" rx="4" stroke-dasharray="4 3"/>`,
      );
    }
    out.push(
      `<text class="dg-name" x="${x + 12}" y="${yy + (s.kind === "volume" ? 31 : 29)}">${escapeXml(short(s.label, 24))}</text>`,
    );
    out.push(
      `<text class="dg-sub" x="${x + 12}" y="${yy + (s.kind === "volume" ? 45 : 44)}">${escapeXml(s.sub)}</text>`,
    );
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("");
}
