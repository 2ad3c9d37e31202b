import { mount } from "svelte";
import ExecutionLive from "../islands/ExecutionLive.svelte";
import { islandProps, replaceFallback } from "../lib/props.js";

const target = document.querySelector('[data-island="execution-live"]');
const props = islandProps(target);
mount(ExecutionLive, { target: replaceFallback(target), props });
