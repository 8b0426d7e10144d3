// A small Markdown renderer: every piece of text is HTML-escaped before any markup is
// added, so model output can never inject HTML. Covers what chat answers use: fenced code,
// inline code, headings, bold, italic, links (http/https only), lists, tables, paragraphs.

const escapeHtml = (text) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function inline(text) {
  const codes = [];
  let html = escapeHtml(text).replace(/`([^`]+)`/g, (_, code) => {
    codes.push(`<code>${code}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  html = html
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>');
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => codes[Number(i)]);
}

const cells = (row) => row.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
const isTableRule = (line) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);

function table(lines) {
  const head = cells(lines[0]).map((c) => `<th>${inline(c)}</th>`).join("");
  const body = lines.slice(2).map((l) => `<tr>${cells(l).map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`);
  return `<table><thead><tr>${head}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

function list(lines, ordered) {
  const items = lines.map((l) => `<li>${inline(l.replace(/^\s*([-*+]|\d+[.)])\s+/, ""))}</li>`);
  const tag = ordered ? "ol" : "ul";
  return `<${tag}>${items.join("")}</${tag}>`;
}

function takeWhile(lines, start, test) {
  let end = start;
  while (end < lines.length && test(lines[end])) end += 1;
  return end;
}

export function renderMarkdown(source) {
  const lines = source.replace(/\r\n/g, "\n").split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*```\s*([\w+-]*)/);
    if (fence) {
      const end = takeWhile(lines, i + 1, (l) => !/^\s*```/.test(l));
      const lang = fence[1] ? ` class="language-${escapeHtml(fence[1])}"` : "";
      out.push(`<pre><code${lang}>${escapeHtml(lines.slice(i + 1, end).join("\n"))}</code></pre>`);
      i = end + 1;
    } else if (/^#{1,6}\s/.test(line)) {
      const level = line.match(/^#+/)[0].length;
      out.push(`<h${level}>${inline(line.slice(level).trim())}</h${level}>`);
      i += 1;
    } else if (line.includes("|") && i + 1 < lines.length && isTableRule(lines[i + 1])) {
      const end = takeWhile(lines, i + 2, (l) => l.includes("|") && l.trim() !== "");
      out.push(table(lines.slice(i, end)));
      i = end;
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const end = takeWhile(lines, i, (l) => /^\s*([-*+]|\d+[.)])\s+/.test(l));
      out.push(list(lines.slice(i, end), ordered));
      i = end;
    } else if (line.trim() === "") {
      i += 1;
    } else {
      const end = takeWhile(lines, i, (l) => l.trim() !== "" && !/^\s*(```|#{1,6}\s|[-*+]\s|\d+[.)]\s)/.test(l));
      out.push(`<p>${lines.slice(i, Math.max(end, i + 1)).map(inline).join("<br>")}</p>`);
      i = Math.max(end, i + 1);
    }
  }
  return out.join("\n");
}
