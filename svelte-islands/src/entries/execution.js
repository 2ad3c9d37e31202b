import { mount } from "svelte";
import FileList from "../components/FileList.svelte";
import ExecutionLive from "../islands/ExecutionLive.svelte";
import { islandProps, replaceFallback } from "../lib/props.js";

// A run still going: its whole result, live. A finished one with files: their previews.
const live = document.querySelector('[data-island="execution-live"]');
if (live) mount(ExecutionLive, { target: replaceFallback(live), props: islandProps(live) });
const files = document.querySelector('[data-island="execution-files"]');
if (files) {
  const { execution } = islandProps(files);
  mount(FileList, { target: replaceFallback(files), props: { files: execution.files, truncated: execution.files_truncated } });
}
