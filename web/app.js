// The page: collects dropped files, has the worker (worker-client.js -> worker.js) embed them
// into a Gallery (gallery.js), searches it, and computes metrics and plots with the wasm module
// (LabelledSet.analyse, pca2d); views.js draws. State for tests and users:
// <body data-state="starting|ready|embedding|done|error">.
import { fromDrop, fromInput, isImageName, matchRows } from "./files.js";
import { labelColour, scatter } from "./plots.js";
import { Gallery } from "./gallery.js";
import { $, clearViews, setState, showAnalysis, showResults, skip, tile } from "./views.js";
import { workerClient } from "./worker-client.js";

const CHUNK = 8;   // images per message to the worker
const K = 10;      // results shown per search

const wasm = await new Promise((resolve) => {
  if (window.wasmBindings) resolve(window.wasmBindings);
  else addEventListener("TrunkApplicationStarted", () => resolve(window.wasmBindings), { once: true });
});
const { Index, LabelledSet, pca2d, npyBytes } = wasm;

const { ask } = workerClient(new URL("./worker.js", import.meta.url), (reason) => setState("error", reason));
// Anything the Content-Security-Policy blocks is a bug of ours: show it rather than half-work.
document.addEventListener("securitypolicyviolation", (e) =>
  setState("error", `blocked by the Content-Security-Policy: ${e.violatedDirective} ${e.blockedURI}`));

// --- the model ------------------------------------------------------------------------
let model = null; // {backend, dim, spec, name}

async function loadModel(bytes, name) {
  const backend = new URLSearchParams(location.search).get("backend") || "auto";
  const loaded = await ask({ type: "load", bytes, backend }, [bytes]);
  model = { ...loaded, name };
  const { arch, members = 1 } = loaded.spec;
  const kind = members > 1 ? `ensemble of ${members} ${arch}` : arch;
  $("model-name").textContent = `${name} (${kind}, ${loaded.dim}-d)`;
  $("backend").textContent = loaded.backend === "webgpu" ? "WebGPU" : "CPU";
  $("backend").className = `badge ${loaded.backend}`;
  document.body.dataset.backend = loaded.backend;
}

/** The default model, served next to the page and kept in the browser's cache. */
async function defaultModelBytes() {
  const url = new URL("model.safetensors", location.href);
  const cache = "caches" in self ? await caches.open("oml-models-v1") : null;
  let response = cache ? await cache.match(url) : undefined;
  if (!response) {
    response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch the default model: ${response.status}`);
    if (cache) await cache.put(url, response.clone());
  }
  return await response.arrayBuffer();
}

async function useModelFile(file) {
  setState("starting", "");
  try {
    await loadModel(await file.arrayBuffer(), file.name);
    setState("ready");
  } catch (e) {
    setState("error", `${file.name}: ${e.message}`);
  }
}

// --- the gallery ----------------------------------------------------------------------
let gallery = null; // a Gallery, once images were dropped
let queryUrl = null; // the object URL of the last query image dropped

function resetGallery() {
  if (gallery) gallery.release();
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = null;
  gallery = null;
  clearViews();
}

/** The dropped entries sorted out: a model file, a labelled CSV, images, and what is skipped. */
async function addFiles(entries) {
  if (!model && !entries.some((e) => /\.safetensors$/i.test(e.path))) {
    $("message").textContent = "no model is loaded yet: wait for it, or drop a model file (.safetensors)";
    return;
  }
  const models = entries.filter((e) => /\.safetensors$/i.test(e.path));
  if (models.length) {
    await useModelFile(models[0].file);
    if (document.body.dataset.state === "error") return;
  }
  const csvs = entries.filter((e) => /\.csv$/i.test(e.path));
  resetGallery();
  const skipped = [];
  let labelled = null;
  if (csvs.length) {
    try {
      labelled = LabelledSet.fromCsv(await csvs[0].file.text(), csvs[0].path);
    } catch (e) {
      setState("error", e.message);
      return;
    }
  }
  const images = [];
  for (const e of entries) {
    if (/\.(csv|safetensors)$/i.test(e.path)) continue;
    if (isImageName(e.path)) images.push(e);
    else skip(skipped, e.path, "not an image");
  }
  if (!images.length) {
    setState("ready", "no images to embed");
    return;
  }
  const items = images.map(({ file, path }) => ({ file, path, label: undefined, category: "" }));
  const rowOfItem = new Array(items.length).fill(-1);
  if (labelled) {
    const labels = labelled.labels, categories = labelled.categories;
    matchRows(labelled.paths, items).forEach((i, row) => {
      if (i >= 0 && rowOfItem[i] < 0) {
        rowOfItem[i] = row;
        items[i].label = labels[row];
        items[i].category = categories[row];
      }
    });
  }
  gallery = new Gallery(Index, model.dim, items.length, labelled);
  await embedInto(gallery, items, rowOfItem, skipped);
  $("gallery-count").textContent = `(${gallery.items.length} images, ${gallery.seconds.toFixed(1)} s)`;
  $("search-section").hidden = false;
  drawMap();
  if (labelled) analyse();
  setState("done");
}

/** Embeds `items` chunk by chunk into `g`, drawing each tile and the progress as it goes. */
async function embedInto(g, items, rowOfItem, skipped) {
  const dim = g.dim;
  $("gallery-section").hidden = false;
  $("progress-box").hidden = false;
  setState("embedding");
  const started = performance.now();
  let done = 0;
  for (let i = 0; i < items.length; i += CHUNK) {
    const chunk = items.slice(i, i + CHUNK);
    const reply = await ask({ type: "embed", files: chunk.map((c) => c.file) });
    const errors = new Map(reply.errors.map((e) => [e.index, e.error]));
    chunk.forEach((item, j) => {
      if (!reply.ok[j]) return skip(skipped, item.path, errors.get(j) || "could not be embedded");
      const n = g.add(item, reply.embeddings.subarray(j * dim, (j + 1) * dim), rowOfItem[i + j]);
      $("gallery").append(tile(item, item.path, "", () => searchItem(n)));
    });
    done += chunk.length;
    const seconds = (performance.now() - started) / 1000;
    $("progress").value = done / items.length;
    $("progress-text").textContent =
      `${done}/${items.length} images, ${(g.items.length / seconds).toFixed(1)} images/s`;
    document.body.dataset.embedded = String(g.items.length);
  }
  g.seconds = (performance.now() - started) / 1000;
}

// --- search ---------------------------------------------------------------------------
function showNearest(queryItem, embedding, excludePath) {
  const results = gallery.search(embedding, K, excludePath)
    .map(({ n, distance }) => ({ n, distance, item: gallery.items[n] }));
  showResults(queryItem, results, searchItem);
}

function searchItem(n) {
  const item = gallery.items[n];
  showNearest(item, gallery.embedding(n), item.path);
}

async function searchFile(file) {
  if (!gallery) return;
  const reply = await ask({ type: "embed", files: [file] });
  if (!reply.ok[0]) {
    $("message").textContent = `${file.name}: ${reply.errors[0]?.error}`;
    return;
  }
  // Only the latest dropped query keeps an object URL.
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = URL.createObjectURL(file);
  showNearest({ path: file.name, url: queryUrl, label: undefined }, reply.embeddings, null);
}

// --- metrics and plots ----------------------------------------------------------------
function analyse() {
  const { perRow, present } = gallery.perRow();
  let a;
  try {
    a = gallery.labelled.analyse(perRow, gallery.dim, present);
  } catch (e) {
    $("message").textContent = `metrics: ${e.message}`;
    return;
  }
  gallery.analysis = a;
  showAnalysis(a, gallery.items, gallery.rowOfItem, searchItem);
}

function drawMap() {
  const { items } = gallery;
  if (items.length < 3) return;
  const xy = pca2d(gallery.all(), gallery.dim);
  $("pca-plot").replaceChildren(scatter(xy, items.map((it) => labelColour(it.label)),
    items.map((it) => (it.label !== undefined ? `${it.path} (label ${it.label})` : it.path)), searchItem));
  $("map-section").hidden = false;
}

// --- export ---------------------------------------------------------------------------
function download(bytes, name, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

$("export-npy").addEventListener("click", () => {
  const n = gallery.items.length;
  download(npyBytes(gallery.all(), n, gallery.dim), "embeddings.npy", "application/octet-stream");
  download(gallery.items.map((it) => it.path).join("\n") + "\n", "embeddings.ids.txt", "text/plain");
});
$("export-json").addEventListener("click", () => {
  const json = {
    model: model.spec,
    dim: gallery.dim,
    items: gallery.items.map((it, n) => ({
      path: it.path,
      label: it.label ?? null,
      embedding: Array.from(gallery.embedding(n)),
    })),
  };
  download(JSON.stringify(json), "embeddings.json", "application/json");
});

// --- inputs ---------------------------------------------------------------------------
function dropZone(zone, onDrop) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    e.stopPropagation();
    zone.classList.remove("over");
    onDrop(await fromDrop(e));
  });
}

const guarded = (f) => async (...args) => {
  try { await f(...args); } catch (e) { setState("error", e.message || String(e)); }
};
dropZone($("drop"), guarded(addFiles));
dropZone($("query-drop"), guarded(async (entries) => {
  const image = entries.find((e) => isImageName(e.path));
  if (image) await searchFile(image.file);
}));
$("files").addEventListener("change", guarded((e) => addFiles(fromInput(e.target))));
$("folder").addEventListener("change", guarded((e) => addFiles(fromInput(e.target))));
$("query-input").addEventListener("change", guarded((e) => searchFile(e.target.files[0])));
$("model-input").addEventListener("change", guarded((e) => useModelFile(e.target.files[0])));

try {
  await loadModel(await defaultModelBytes(), "default model");
  setState("ready");
} catch (e) {
  setState("error", e.message);
}
