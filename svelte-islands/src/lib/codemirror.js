// The script editor: CodeMirror 6 with Python highlighting and completion.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { completeFromList, ifNotIn } from "@codemirror/autocomplete";
import { python, pythonLanguage } from "@codemirror/lang-python";

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

const theme = EditorView.theme({
  "&": { fontSize: "0.95rem", backgroundColor: "var(--surface)" },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": { fontFamily: "var(--font-mono)", lineHeight: "1.5", minHeight: "18rem" },
  ".cm-gutters": { backgroundColor: "var(--surface-sunken)", color: "var(--text-muted)", border: "none" },
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
      theme,
    ],
  });
}

export function replaceDocument(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
