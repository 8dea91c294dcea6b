// Bundles the test app (app.tsx) with esbuild into DIR/index.html + DIR/app.js: node e2e/build.mjs --out DIR
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf("--out");
if (at < 0) throw new Error("usage: node e2e/build.mjs --out DIR");
const out = resolve(process.argv[at + 1]);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [resolve(here, "app.tsx")],
  outfile: resolve(out, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
writeFileSync(resolve(out, "index.html"),
  '<!doctype html><html><head><meta charset="utf-8"><title>@presence/client e2e</title></head>' +
  '<body><div id="root"></div><script type="module" src="app.js"></script></body></html>\n');
