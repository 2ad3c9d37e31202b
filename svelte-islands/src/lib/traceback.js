// A traceback's references to the user's own script. Every runner places it at the same path
// (executions/sandbox/entry.py, "/sandbox/main.py"); frames of other files (the standard
// library, packages) are not the user's to edit and are left as text.
const SCRIPT_FRAME = /File "\/sandbox\/main\.py", line (\d+)/g;

// `text` cut into its plain parts and its references to a line of the script:
// [{ text }, { text, line }, ...], in order; one plain part when there is none.
export function scriptLineParts(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(SCRIPT_FRAME)) {
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: match[0], line: Number(match[1]) });
    at = match.index + match[0].length;
  }
  if (at < text.length || !parts.length) parts.push({ text: text.slice(at) });
  return parts;
}
