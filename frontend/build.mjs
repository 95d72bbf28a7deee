// Bundles the frontend (src/main.js and its npm dependencies) into ../static/dist/app.js.
// The bundle is committed, so `cargo run --release -- serve` gives a working page on a fresh
// clone without Node; `npm ci && npm run build` re-makes it from the locked dependencies.
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outfile: "../static/dist/app.js",
  legalComments: "linked",
  logLevel: "info",
});
