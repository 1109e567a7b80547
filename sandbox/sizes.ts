/** A size as docker's options write it (`64m`, `1g`, `512k`, `100b`, `4096`), in bytes; undefined when it is not one. */
export function parseSize(text: string | undefined): number | undefined {
  const m = /^(\d+)([kmg]?)b?$/i.exec((text ?? "").trim());
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    m[2]!.toLowerCase() as "" | "k" | "m" | "g"
  ];
  return Number(m[1]) * unit;
}
