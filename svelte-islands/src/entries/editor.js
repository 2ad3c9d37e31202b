import { mount } from "svelte";
import Editor from "../islands/Editor.svelte";
import { islandProps, replaceFallback } from "../lib/props.js";

const target = document.querySelector('[data-island="editor"]');
const props = islandProps(target);
mount(Editor, { target: replaceFallback(target), props });
