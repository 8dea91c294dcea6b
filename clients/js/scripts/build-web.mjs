// Builds what status-query serves from this package's source (committed; a test compares them):
//   wwwroot/js/presence.js  the client (src/index.ts) with @microsoft/signalr bundled in, an ES module
//   wwwroot/board.js        the board page (web/board.ts), importing ./js/presence.js
// Usage: node scripts/build-web.mjs [--out DIR]   (default: services/status-query/wwwroot)
import { build } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const at = process.argv.indexOf("--out");
const out = at > 0 ? resolve(process.argv[at + 1]) : resolve(root, "../../services/status-query/wwwroot");
const banner = { js: "// Built from clients/js by `npm run build:web` (./dev.sh build-web). Do not edit: edit clients/js and rebuild." };
const common = { bundle: true, format: "esm", target: "es2020", platform: "browser", legalComments: "inline", minify: true, banner, logLevel: "warning" };

await build({ ...common, entryPoints: [resolve(root, "src/index.ts")], outfile: resolve(out, "js/presence.js") });
await build({ ...common, entryPoints: [resolve(root, "web/board.ts")], outfile: resolve(out, "board.js"), external: ["./js/presence.js"] });
