// In-process decisions with @cedar-policy/cedar-wasm (Cedar compiled to
// WebAssembly, from npm), for the peers table of docs/benchmarks.md: the
// same question tosgate's engine_bench asks in process, "may this account
// call chat?", over 10,000 accounts, with the policy set parsed once
// (statefulIsAuthorized). Cedar keeps no counters, so there is no rate limit
// in it: this is the authorization part of a check only.
//
//   node bench/peers/cedar_bench.mjs NODE_MODULES_DIR [SECONDS]
// Prints one line: decisions/s, p50 and p99 in microseconds.
import { createRequire } from "node:module";
import path from "node:path";

const modules = process.argv[2];
const seconds = Number(process.argv[3] || 3);
const require = createRequire(path.join(modules, "x.js"));
const cedar = require("@cedar-policy/cedar-wasm/nodejs");

const policy = `
permit (principal, action == Action::"chat", resource)
when { principal.tier == "enterprise" && !principal.suspended };
forbid (principal, action, resource)
when { context.purpose == "model-training" };`;
const parsed = cedar.preparsePolicySet("p", { staticPolicies: policy });
if (parsed.type !== "success") throw new Error(JSON.stringify(parsed));

const accounts = 10000;
const entities = [];
for (let i = 1; i <= accounts; i++)
  entities.push([{ uid: { type: "Account", id: `acct_${i}` },
                   attrs: { tier: "enterprise", suspended: false }, parents: [] }]);
function call(i) {
  return {
    principal: { type: "Account", id: `acct_${i}` },
    action: { type: "Action", id: "chat" },
    resource: { type: "Endpoint", id: "/v1/chat/completions" },
    context: { purpose: "" },
    preparsedPolicySetId: "p",
    entities: entities[i - 1],
  };
}
// Warm-up: the first calls compile the WebAssembly module's hot paths.
for (let k = 1; k <= 2000; k++) cedar.statefulIsAuthorized(call(k));
let allowed = 0, n = 0, i = 0;
const lat = [];
const end = process.hrtime.bigint() + BigInt(seconds * 1e9);
for (;;) {
  i = i % accounts + 1;
  const t0 = process.hrtime.bigint();
  const a = cedar.statefulIsAuthorized(call(i));
  const t1 = process.hrtime.bigint();
  if (a.type === "success" && a.response.decision === "allow") allowed++;
  lat.push(Number(t1 - t0) / 1000);
  n++;
  if ((n & 1023) === 0 && t1 > end) break;
}
const elapsed = seconds + Number(process.hrtime.bigint() - end) / 1e9;
lat.sort((a, b) => a - b);
const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(1);
console.log(`cedar-wasm ${cedar.getCedarVersion ? cedar.getCedarVersion() : ""}: ` +
            `${Math.round(n / elapsed)} decisions/s, p50 ${p(0.5)} us, p99 ${p(0.99)} us, ` +
            `${allowed} of ${n} allowed`);
