// Validates Kubernetes manifests (multi-document YAML files given as arguments) offline, against the JSON
// schemas generated from the Kubernetes OpenAPI spec and from the Prometheus Operator, KEDA and Gateway API
// CRDs, as compiled into the kubernetes-models packages (npm). Prints one line per object and exits 1 if
// any object is invalid or of a kind no schema covers. Used by tests/Presence.Deployment.Tests.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const packages = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = packages[group] ?? "kubernetes-models";
  const path = group ? `${group}/${version}` : version;
  try {
    const module = await import(`${pkg}/${path}/${kind}`);
    return module[kind];
  } catch {
    return undefined;
  }
}

let failed = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      console.log(`INVALID ${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      failed++;
      continue;
    }
    const object = doc.toJS();
    if (object === null || object === undefined) continue;
    const id = `${object.apiVersion}/${object.kind} ${object.metadata?.name ?? "(no name)"}`;
    const Model = object.apiVersion && object.kind ? await modelFor(object.apiVersion, object.kind) : undefined;
    checked++;
    if (!Model) {
      console.log(`INVALID ${id}: no schema for this apiVersion and kind`);
      failed++;
      continue;
    }
    try {
      new Model(object).validate();
      console.log(`valid ${id}`);
    } catch (error) {
      const details = (error.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
      console.log(`INVALID ${id}: ${details || error.message}`);
      failed++;
    }
  }
}
console.log(`${checked} objects, ${failed} invalid`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
