// Files in (read in the browser, sent with the submission) and out (previews of what a run made).

export const INLINE_IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
export const PREVIEW_ROWS = 20;
export const CSV_PREVIEW_BYTES = 256 * 1024;
export const TEXT_PREVIEW_BYTES = 64 * 1024;
const TEXT_TYPES = ["text/plain", "text/markdown", "application/json", "text/x-python"];

export function previewKind(file) {
  if (INLINE_IMAGES.includes(file.content_type)) return "image";
  if (file.content_type === "text/csv" && file.size <= CSV_PREVIEW_BYTES) return "table";
  if (TEXT_TYPES.includes(file.content_type) && file.size <= TEXT_PREVIEW_BYTES) return "text";
  return null;
}

// The first rows of a CSV text (quoted fields, doubled quotes and newlines in quotes kept).
export function parseCsv(text, maxRows = PREVIEW_ROWS + 1) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if ((field || row.length) && rows.length < maxRows) { row.push(field); rows.push(row); }
  return rows;
}

// A browser File as the API takes it: base64, so any bytes go through.
export async function encodeFile(file, name = file.name) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name, content: btoa(binary), encoding: "base64", size: bytes.length };
}
