// Builds every island entry (and the site stylesheet) into ../static/islands/ with a
// manifest that django-vite reads; file names carry content hashes, so the static view
// can serve them with immutable cache headers.
import { fileURLToPath } from "node:url";
import { readdirSync } from "node:fs";
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

// One input per file in src/entries/ (keyed by file name) plus the site stylesheet.
function inputs() {
  const entries = Object.fromEntries(
    readdirSync(here("src/entries")).map((file) => [file.replace(/\.js$/, ""), here(`src/entries/${file}`)]),
  );
  return { ...entries, site: here("src/styles/site.css") };
}

// A language's chunk by its package (lang-cpp) or legacy mode (ruby).
const lazyName = (chunk) => chunk.facadeModuleId?.match(/@codemirror\/([\w-]+)\/dist\//)?.[1] ?? chunk.name;

export default defineConfig({
  plugins: [svelte({ configFile: false })],
  // Relative URLs between built files keep them valid wherever STATIC_URL points.
  base: "./",
  build: {
    outDir: here("../static/islands"),
    emptyOutDir: true,
    manifest: true,
    target: "es2022",
    rollupOptions: {
      input: inputs(),
      output: {
        // Code shared by several islands (the Svelte runtime, the stream client), and the
        // editor's languages beyond Python, each loaded when a runtime of it is first chosen.
        chunkFileNames: (chunk) => (chunk.isDynamicEntry ? `assets/lazy-${lazyName(chunk)}-[hash].js` : "assets/shared-[hash].js"),
      },
    },
    // The editor's chunk is CodeMirror with Python (about 500 kB, 170 kB gzipped); the other
    // languages are not in it (src/lib/codemirror.js imports them when chosen).
    chunkSizeWarningLimit: 600,
  },
});
