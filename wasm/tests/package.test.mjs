// The built npm package (dist/oml-wasm) in Node.js, against the native tools' output on the
// same files and model file: embeddings within 1e-4 of `oml embed`, search results equal to
// `oml search`, index bytes round trip, errors as exceptions with clear messages.
// Run by scripts/test-wasm-pkg.sh, which prepares the native side:
//   node package.test.mjs PKG_DIR MODEL DATASET_CSV DATASET_ROOT NATIVE_NPY SEARCH_TXT K NATIVE_INDEX
// (NATIVE_INDEX: the gallery as `oml index build` wrote it, loaded with Index.fromBytes.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [pkgDir, modelPath, csvPath, root, npyPath, searchPath, kArg, nativeIndexPath] = process.argv.slice(2);
const k = Number(kArg);
const { default: init, Embedder, Index } = await import(pathToFileURL(join(pkgDir, "oml_wasm.js")));
await init({ module_or_path: readFileSync(join(pkgDir, "oml_wasm_bg.wasm")) });

/** numpy .npy (little-endian float32, C order, 2-D) → {rows, dim, data}. */
function readNpy(path) {
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(1, 6).toString("latin1"), "NUMPY");
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = bytes.subarray(major === 1 ? 10 : 12, start).toString("latin1");
  assert.match(header, /'descr': '<f4'/);
  assert.match(header, /'fortran_order': False/);
  const [rows, dim] = header.match(/'shape': \((\d+), (\d+),? ?\)/).slice(1).map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + rows * dim * 4));
  return { rows, dim, data };
}

function readCsv(path) {
  const [header, ...lines] = readFileSync(path, "utf8").trim().split("\n");
  const cols = header.split(",");
  return lines.map((line) => Object.fromEntries(line.split(",").map((v, i) => [cols[i], v])));
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// --- the model file
const modelBytes = new Uint8Array(readFileSync(modelPath));
const spec = Embedder.readSpec(modelBytes);
assert.equal(spec.arch, "mobilenet_v2");
const loadStart = performance.now();
const embedder = await Embedder.load(modelBytes);
const loadMs = performance.now() - loadStart;
assert.equal(embedder.backend, "cpu", "Node.js has no WebGPU adapter: the CPU backend runs");
assert.equal(embedder.dim, spec.feat_dim);

// --- embeddings equal `oml embed` of the same rows
const rows = readCsv(csvPath);
const images = rows.map((r) => new Uint8Array(readFileSync(join(root, r.path))));
const native = readNpy(npyPath);
assert.equal(native.rows, rows.length);
assert.equal(native.dim, embedder.dim);
await embedder.embed(images[0]); // warm-up
const start = performance.now();
const got = await embedder.embedBatch(images);
const seconds = (performance.now() - start) / 1000;
assert.equal(got.length, rows.length * embedder.dim);
const worst = maxAbsDiff(got, native.data);
assert.ok(worst < 1e-4, `wasm vs native embeddings differ by ${worst}`);
const single = await embedder.embed(images[1].buffer.slice(images[1].byteOffset, images[1].byteOffset + images[1].byteLength));
assert.ok(maxAbsDiff(single, native.data.subarray(embedder.dim, 2 * embedder.dim)) < 1e-4, "ArrayBuffer input");
const blob = await embedder.embed(new Blob([images[2]]));
assert.ok(maxAbsDiff(blob, native.data.subarray(2 * embedder.dim, 3 * embedder.dim)) < 1e-4, "Blob input");

// --- search equals `oml search` (gallery: the is_gallery rows; queries: the is_query rows)
const isTrue = (v) => ["true", "1"].includes(String(v).toLowerCase());
const gallery = rows.map((r, i) => [r, i]).filter(([r]) => isTrue(r.is_gallery));
const queries = rows.map((r, i) => [r, i]).filter(([r]) => isTrue(r.is_query));
const index = new Index(embedder.dim);
const galleryEmb = new Float32Array(gallery.length * embedder.dim);
gallery.forEach(([, i], j) => galleryEmb.set(got.subarray(i * embedder.dim, (i + 1) * embedder.dim), j * embedder.dim));
index.add(gallery.map(([r]) => r.path), galleryEmb);
assert.equal(index.size, gallery.length);

// `oml search` prints each query's path, then "rank distance label L path" lines.
const expected = [];
for (const line of readFileSync(searchPath, "utf8").split("\n").filter((l) => l.trim())) {
  if (!line.startsWith(" ")) expected.push({ query: line, hits: [] });
  else {
    const f = line.trim().split(/\s+/);
    expected.at(-1).hits.push({ distance: Number(f[1]), path: f[4] });
  }
}
assert.equal(expected.length, queries.length);
const check = (idx, what) => {
  queries.forEach(([r, i], q) => {
    const result = idx.search(got.subarray(i * embedder.dim, (i + 1) * embedder.dim), k);
    assert.ok(expected[q].query.endsWith(r.path), `${what}: query order`);
    assert.deepEqual(result.ids, expected[q].hits.map((h) => h.path), `${what}: ${r.path}`);
    result.distances.forEach((d, j) =>
      assert.ok(Math.abs(d - expected[q].hits[j].distance) < 1e-4, `${what}: distance ${d} vs ${expected[q].hits[j].distance}`));
  });
};
check(index, "search");
const reloaded = Index.fromBytes(index.toBytes());
assert.deepEqual(reloaded.ids, index.ids);
check(reloaded, "search after toBytes/fromBytes");
// The index `oml index build` wrote natively: same ids, same results, the model recorded.
const nativeIndex = Index.fromBytes(new Uint8Array(readFileSync(nativeIndexPath)));
assert.match(nativeIndex.model, /^sha256:[0-9a-f]{64}$/);
assert.equal(index.model, undefined, "an index made in the page records no model");
assert.deepEqual(nativeIndex.ids, index.ids);
check(nativeIndex, "the native index");
const batch = index.searchBatch(got.subarray(0, 2 * embedder.dim), 2);
assert.equal(batch.length, 2);

// --- errors are exceptions that say what is wrong
await assert.rejects(embedder.embedBatch([images[0], new Uint8Array([1, 2, 3])]), /image 1: not a decodable image/);
await assert.rejects(embedder.embed(42), /expected encoded image bytes/);
await assert.rejects(Embedder.load(new Uint8Array([1, 2, 3])), /not a safetensors file/);
await assert.rejects(Embedder.load(modelBytes, { backend: "gpu" }), /backend must be "auto", "cpu" or "webgpu"/);
await assert.rejects(Embedder.load(modelBytes, { backend: "webgpu" }), /WebGPU was requested/);
assert.throws(() => index.add([gallery[0][0].path], galleryEmb.subarray(0, embedder.dim)), /already in the index/);
assert.throws(() => index.search(new Float32Array(3), 1), /the query has 3 values/);
assert.throws(() => Index.fromBytes(modelBytes), /not an index file/);
assert.throws(() => new Index(0), /dim must be at least 1/);

const wasmBytes = readFileSync(join(pkgDir, "oml_wasm_bg.wasm")).length;
console.log(JSON.stringify({
  ok: true,
  images: rows.length,
  embeddings_per_s: +(rows.length / seconds).toFixed(2),
  model_load_ms: Math.round(loadMs),
  max_abs_diff_vs_native: worst,
  wasm_bytes: wasmBytes,
}));
