// A minimal web app on the oml-wasm package: load a model file, embed the picked images,
// search them by clicking one. Served by scripts/serve-wasm-example.sh.
import init, { Embedder, Index } from "./oml-wasm/oml_wasm.js";

const $ = (id) => document.getElementById(id);

await init();
const bytes = new Uint8Array(await (await fetch("model.safetensors")).arrayBuffer());
const embedder = await Embedder.load(bytes);
$("model").textContent = `${embedder.spec.source.zoo_model ?? embedder.spec.arch} (${embedder.dim}-d)`;
$("badge").textContent = embedder.backend;
$("files").disabled = false;

let index = null;
const urls = new Map();
let embeddings = null;

function tile(name, caption, query = false) {
  const div = document.createElement("div");
  div.className = query ? "tile query" : "tile";
  const img = document.createElement("img");
  img.src = urls.get(name);
  div.append(img, document.createElement("br"), caption);
  return div;
}

$("files").addEventListener("change", async (event) => {
  const files = [...event.target.files];
  index = new Index(embedder.dim);
  embeddings = new Float32Array(files.length * embedder.dim);
  $("gallery").replaceChildren();
  $("results").replaceChildren();
  const started = performance.now();
  for (let i = 0; i < files.length; i += 8) {
    const chunk = files.slice(i, i + 8);
    try {
      embeddings.set(await embedder.embedBatch(chunk), i * embedder.dim);
    } catch (e) {
      $("status").textContent = `skipped a batch: ${e.message}`;
      continue;
    }
    index.add(chunk.map((f) => f.name), embeddings.subarray(i * embedder.dim, (i + chunk.length) * embedder.dim));
    for (const f of chunk) {
      urls.set(f.name, URL.createObjectURL(f));
      const t = tile(f.name, f.name);
      t.addEventListener("click", () => search(f.name));
      $("gallery").append(t);
    }
    const seconds = (performance.now() - started) / 1000;
    $("status").textContent = `${index.size}/${files.length} embedded, ${(index.size / seconds).toFixed(1)} images/s`;
  }
});

function search(name) {
  const row = index.ids.indexOf(name);
  const query = embeddings.subarray(row * embedder.dim, (row + 1) * embedder.dim);
  const { ids, distances } = index.search(query, 6);
  $("results").replaceChildren(...ids.map((id, j) => tile(id, distances[j].toFixed(3), id === name)));
}
