// A traceback's, or a compiler's, references to the user's own source. Every runner places it
// at the same path (executions/sandbox/entry.py, "/sandbox/main.py"; another language's as its
// source file, "/sandbox/main.c"); frames of other files (the standard library, packages) are
// not the user's to edit and are left as text. A compiler writes "/sandbox/main.c:12:5: error".
const SCRIPT_FRAME = /File "\/sandbox\/main\.py", line (\d+)|\/sandbox\/\w+\.\w+:(\d+)(?::\d+)?/g;

// `text` cut into its plain parts and its references to a line of the script:
// [{ text }, { text, line }, ...], in order; one plain part when there is none.
export function scriptLineParts(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(SCRIPT_FRAME)) {
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: match[0], line: Number(match[1] ?? match[2]) });
    at = match.index + match[0].length;
  }
  if (at < text.length || !parts.length) parts.push({ text: text.slice(at) });
  return parts;
}

// The first line of the source a failed build's messages point at, or null.
export function compileErrorLine(errors) {
  return scriptLineParts(errors ?? "").find((part) => part.line)?.line ?? null;
}
