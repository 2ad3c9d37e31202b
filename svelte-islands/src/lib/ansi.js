// ANSI escape sequences in a script's output, rendered as a terminal would show them: SGR
// colours and styles become classes (the 16 colours of the palette, bold, dim, italic,
// underline; 256-colour and true-colour ones fall back to the default colour), and every other
// control sequence (cursor moves, erasing, window titles) is dropped rather than shown raw.

const CSI = /\x1b\[([0-9;?]*)([@-~])/y;
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/y;
const COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
export const PLAIN = Object.freeze({ fg: null, bg: null, bold: false, dim: false, italic: false, underline: false });

function applySgr(state, parameters) {
  const codes = parameters === "" ? [0] : parameters.split(";").map((code) => Number(code) || 0);
  let next = { ...state };
  for (let index = 0; index < codes.length; index++) {
    const code = codes[index];
    if (code === 0) next = { ...PLAIN };
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = COLOURS[code - 30];
    else if (code >= 90 && code <= 97) next.fg = `bright-${COLOURS[code - 90]}`;
    else if (code >= 40 && code <= 47) next.bg = COLOURS[code - 40];
    else if (code >= 100 && code <= 107) next.bg = `bright-${COLOURS[code - 100]}`;
    else if (code === 39) next.fg = null;
    else if (code === 49) next.bg = null;
    else if (code === 38 || code === 48) {
      index += codes[index + 1] === 5 ? 2 : codes[index + 1] === 2 ? 4 : 0; // 256 / true colour: default
      if (code === 38) next.fg = null;
      else next.bg = null;
    }
  }
  return next;
}

export function classesOf(state) {
  const classes = [];
  if (state.fg) classes.push(`ansi-fg-${state.fg}`);
  if (state.bg) classes.push(`ansi-bg-${state.bg}`);
  for (const style of ["bold", "dim", "italic", "underline"]) if (state[style]) classes.push(`ansi-${style}`);
  return classes.join(" ");
}

// Split `text` into [{text, classes}] from `state`; returns the pieces, the state after them,
// and an escape sequence cut off at the end (to be put in front of the next text of the stream).
export function parse(text, state = PLAIN) {
  const pieces = [];
  let start = 0;
  let plainFrom = 0;
  const flush = (end) => {
    if (end > plainFrom) pieces.push({ text: text.slice(plainFrom, end), classes: classesOf(state) });
  };
  while ((start = text.indexOf("\x1b", start)) !== -1) {
    CSI.lastIndex = OSC.lastIndex = start;
    const csi = CSI.exec(text);
    const osc = csi ? null : OSC.exec(text);
    if (!csi && !osc) {
      if (/^\x1b(\[[0-9;?]*|\][^\x07\x1b]*)?$/.test(text.slice(start))) {
        flush(start);
        return { pieces, state, rest: text.slice(start) }; // cut off: wait for the rest
      }
      start += 1; // a lone escape: shown as it is
      continue;
    }
    flush(start);
    if (csi && csi[2] === "m") state = applySgr(state, csi[1]);
    start = plainFrom = start + (csi ?? osc)[0].length;
  }
  flush(text.length);
  return { pieces, state, rest: "" };
}

// The text without any escape sequence (what Copy and Download give).
export function plainText(text) {
  return parse(text).pieces.map((piece) => piece.text).join("");
}
