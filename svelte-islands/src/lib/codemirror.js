// The script editor: CodeMirror 6 with Python highlighting and completion.
import { basicSetup } from "codemirror";
import { EditorView, ViewPlugin, keymap } from "@codemirror/view";
import { Compartment, Prec } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { completeFromList, ifNotIn } from "@codemirror/autocomplete";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
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

const theme = new Compartment();
const pageTheme = () => THEMES[document.documentElement.dataset.theme] ?? THEMES.light;
// The page's theme changes while the editor is open (the header's toggle, the system's setting).
const followPageTheme = ViewPlugin.define((view) => {
  const observer = new MutationObserver(() => view.dispatch({ effects: theme.reconfigure(pageTheme()) }));
  observer.observe(document.documentElement, { attributeFilter: ["data-theme"] });
  return { destroy: () => observer.disconnect() };
});

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
      basicSetup,
      keymap.of([indentWithTab]),
      python(),
      pythonLanguage.data.of({ autocomplete: keywordCompletion }),
      EditorView.contentAttributes.of({ "aria-label": label }),
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
