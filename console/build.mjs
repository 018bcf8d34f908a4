// Bundles the console into dist/: index.html, app.js and app.css, nothing else. The Rust binary
// embeds these three files (api/src/console.rs), so the console is part of every build and no
// request leaves for a CDN. Leaflet's and Geoman's images are inlined into app.css as data URLs.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const production = !process.argv.includes("--development");

await rm("dist", { recursive: true, force: true });
await mkdir("dist");
await build({
  entryPoints: { app: "src/main.jsx" },
  bundle: true,
  outdir: "dist",
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  loader: { ".png": "dataurl", ".svg": "dataurl" },
  define: { "process.env.NODE_ENV": JSON.stringify(production ? "production" : "development") },
  logLevel: "warning",
});
await copyFile("src/index.html", "dist/index.html");
