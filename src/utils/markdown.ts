import { escapeXml } from "./diagram.ts";

/** One line of markdown (task titles, hints) to HTML: `code`, **bold**, *em*, [text](url). Escapes everything else. */
export function inlineMarkdown(src: string): string {
  const parts = src.split(/(`[^`]*`)/g);
  return parts
    .map((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length >= 2)
        return `<code>${escapeXml(part.slice(1, -1))}</code>`;
      return escapeXml(part)
        .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
        .replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, "$1<em>$2</em>")
        .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+|\/[^)\s]*)\)/g, '<a href="$2">$1</a>');
    })
    .join("");
}
