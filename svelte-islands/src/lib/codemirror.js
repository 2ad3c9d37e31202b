// The script editor: CodeMirror 6 with Python highlighting and completion, and the other
// languages' support (highlighting, indentation, comments) loaded when a runtime of theirs is
// chosen, so the Python editor's bundle does not carry them.
import { basicSetup } from "codemirror";
import { Decoration, EditorView, GutterMarker, ViewPlugin, gutter, keymap } from "@codemirror/view";
import { Compartment, Prec, RangeSet, StateEffect, StateField } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { completeFromList, ifNotIn } from "@codemirror/autocomplete";
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { python, pythonLanguage } from "@codemirror/lang-python";
import { tags } from "@lezer/highlight";

// python() completes builtins, a few snippet keywords and the names defined in the buffer;
// these are the remaining keywords.
const KEYWORDS = [
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "continue", "del",
  "elif", "else", "except", "finally", "global", "in", "is", "lambda", "nonlocal", "not", "or",
  "pass", "raise", "return", "with", "yield", "match", "case",
];
const keywordCompletion = ifNotIn(
  ["String", "FormatString", "Comment"],
  completeFromList(KEYWORDS.map((label) => ({ label, type: "keyword" }))),
);

// Colours from the site's variables (site.css), so they follow the page's theme by themselves;
// only CodeMirror's own light or dark defaults (selection, cursor, tooltips, panels) need telling.
const look = {
  "&": { fontSize: "calc(0.95rem * var(--code-scale, 1))", color: "var(--text)", backgroundColor: "var(--surface)" },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": { fontFamily: "var(--font-mono)", lineHeight: "1.5", minHeight: "18rem" },
  ".cm-gutters": { backgroundColor: "var(--surface-sunken)", color: "var(--text-muted)", border: "none" },
  ".cm-error-line": { backgroundColor: "rgba(198, 40, 40, 0.16)" }, // reads on both themes' surfaces
  ".cm-error-gutter .cm-gutterElement": { color: "var(--alert-text)", fontWeight: "700", padding: "0 2px" },
};
const THEMES = { light: EditorView.theme(look), dark: EditorView.theme(look, { dark: true }) };
const highlighting = syntaxHighlighting(HighlightStyle.define([
  { tag: tags.keyword, color: "var(--code-keyword)" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--code-string)" },
  { tag: tags.comment, color: "var(--code-comment)", fontStyle: "italic" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "var(--code-constant)" },
  { tag: [tags.function(tags.variableName), tags.function(tags.definition(tags.variableName))], color: "var(--code-function)" },
  { tag: [tags.className, tags.definition(tags.className), tags.meta], color: "var(--code-type)" },
  { tag: tags.invalid, color: "var(--alert-text)" },
]));

// By a runtime's `language` (GET /api/v1/runtimes): its CodeMirror support, imported when first
// needed. Official packages where CodeMirror has them, its legacy modes for the rest.
const legacy = (load, name) => async () => StreamLanguage.define((await load())[name]);
const LANGUAGES = {
  javascript: async () => (await import("@codemirror/lang-javascript")).javascript(),
  typescript: async () => (await import("@codemirror/lang-javascript")).javascript({ typescript: true }),
  c: async () => (await import("@codemirror/lang-cpp")).cpp(),
  cpp: async () => (await import("@codemirror/lang-cpp")).cpp(),
  php: async () => (await import("@codemirror/lang-php")).php(), // a script starts with <?php
  go: async () => (await import("@codemirror/lang-go")).go(),
  rust: async () => (await import("@codemirror/lang-rust")).rust(),
  java: async () => (await import("@codemirror/lang-java")).java(),
  bash: legacy(() => import("@codemirror/legacy-modes/mode/shell"), "shell"),
  ruby: legacy(() => import("@codemirror/legacy-modes/mode/ruby"), "ruby"),
  perl: legacy(() => import("@codemirror/legacy-modes/mode/perl"), "perl"),
  lua: legacy(() => import("@codemirror/legacy-modes/mode/lua"), "lua"),
  r: legacy(() => import("@codemirror/legacy-modes/mode/r"), "r"),
  haskell: legacy(() => import("@codemirror/legacy-modes/mode/haskell"), "haskell"),
};
const PYTHON = [python(), pythonLanguage.data.of({ autocomplete: keywordCompletion })];
const languageSupport = new Compartment();
const loaded = new Map([["python", PYTHON]]);

// Whether the editor can highlight `language` (python, or one of LANGUAGES).
export const supportsLanguage = (language) => loaded.has(language) || language in LANGUAGES;

// Switch the editor to `language`'s support (plain text for one it does not know). A switch
// made while another language is still loading wins over it.
export async function setLanguage(view, language) {
  const asked = (view.askedLanguage = language);
  if (!loaded.has(language)) {
    const load = LANGUAGES[language];
    loaded.set(language, load ? await load() : []);
  }
  if (view.askedLanguage !== asked) return;
  view.dispatch({ effects: languageSupport.reconfigure(supportOf(language)) });
}

// What the page (and its tests) can see the editor highlights: data-language on .cm-editor.
const supportOf = (language) => [loaded.get(language), EditorView.editorAttributes.of({ "data-language": language })];

const theme = new Compartment();
const pageTheme = () => THEMES[document.documentElement.dataset.theme] ?? THEMES.light;
// The page's theme changes while the editor is open (the header's toggle, the system's setting).
const followPageTheme = ViewPlugin.define((view) => {
  const observer = new MutationObserver(() => view.dispatch({ effects: theme.reconfigure(pageTheme()) }));
  observer.observe(document.documentElement, { attributeFilter: ["data-theme"] });
  return { destroy: () => observer.disconnect() };
});

// The line a failed run's exception came from: a line decoration and a marker in a gutter of
// its own, until the text changes (the number may no longer mean that line) or the next run.
const setErrorLine = StateEffect.define();
const errorLineMark = Decoration.line({ class: "cm-error-line" });

class ErrorMarker extends GutterMarker {
  toDOM() {
    const marker = document.createElement("span");
    marker.textContent = "!";
    marker.title = "The last run failed on this line";
    return marker;
  }
}
const errorMarker = new ErrorMarker();

// The start of the marked line, or null.
const errorLine = StateField.define({
  create: () => null,
  update(at, transaction) {
    for (const effect of transaction.effects) if (effect.is(setErrorLine)) return effect.value;
    return transaction.docChanged ? null : at;
  },
  provide: (field) => EditorView.decorations.compute([field], (state) => {
    const at = state.field(field);
    return at === null ? Decoration.none : Decoration.set([errorLineMark.range(at)]);
  }),
});

const errorGutter = gutter({
  class: "cm-error-gutter",
  markers: (view) => {
    const at = view.state.field(errorLine);
    return at === null ? RangeSet.empty : RangeSet.of([errorMarker.range(at)]);
  },
  initialSpacer: () => errorMarker, // as wide when empty, so the text does not move when marked
});

const editorLabel = new Compartment();
const labelled = (label) => EditorView.contentAttributes.of({ "aria-label": label });

export function setLabel(view, label) {
  view.dispatch({ effects: editorLabel.reconfigure(labelled(label)) });
}

export function createEditor(parent, { doc, label, onRun, onChange = () => {} }) {
  const run = () => {
    onRun();
    return true;
  };
  return new EditorView({
    parent,
    doc,
    extensions: [
      // Above the default keymap, which binds Mod-Enter to "insert blank line".
      Prec.highest(keymap.of([{ key: "Mod-Enter", run }])),
      errorLine,
      errorGutter,
      basicSetup,
      keymap.of([indentWithTab]),
      languageSupport.of(supportOf("python")),
      editorLabel.of(labelled(label)),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange(update.state.doc.toString());
      }),
      theme.of(pageTheme()),
      highlighting,
      followPageTheme,
    ],
  });
}

export function replaceDocument(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

// Mark line `number` (1-based) as where the last run failed; null clears the mark. A line the
// text no longer has is not marked.
export function markErrorLine(view, number) {
  const valid = number !== null && number >= 1 && number <= view.state.doc.lines;
  view.dispatch({ effects: setErrorLine.of(valid ? view.state.doc.line(number).from : null) });
}

// Put the cursor at the start of line `number` (1-based) and bring it into view.
export function goToLine(view, number) {
  const line = view.state.doc.line(Math.min(Math.max(number, 1), view.state.doc.lines));
  view.dispatch({ selection: { anchor: line.from }, effects: EditorView.scrollIntoView(line.from, { y: "center" }) });
  view.focus();
}
