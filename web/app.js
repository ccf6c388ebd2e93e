// The page: collects dropped files, has worker.js embed them, then searches with the Index
// and computes metrics and plots with the wasm module (LabelledSet.analyse, pca2d). State for
// tests and users: <body data-state="starting|ready|embedding|done|error">.
import { fromDrop, fromInput, isImageName, matchRows } from "./files.js";
import { cmcCurve, histograms, labelColour, scatter } from "./plots.js";

const $ = (id) => document.getElementById(id);
const CHUNK = 8;   // images per message to the worker
const K = 10;      // results shown per search

const wasm = await new Promise((resolve) => {
  if (window.wasmBindings) resolve(window.wasmBindings);
  else addEventListener("TrunkApplicationStarted", () => resolve(window.wasmBindings), { once: true });
});
const { Index, LabelledSet, pca2d, npyBytes } = wasm;

// --- the worker and its model ---------------------------------------------------------
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 0;
const pending = new Map();
worker.onmessage = ({ data }) => {
  const p = pending.get(data.id);
  if (!p) return;
  pending.delete(data.id);
  data.type === "error" ? p.reject(new Error(data.error)) : p.resolve(data);
};
// A worker that fails (its script, its wasm, a message it cannot read) rejects every
// pending request and says so on the page, instead of leaving it waiting forever.
let workerDead = null; // why the worker stopped, once it has
function workerFailed(reason) {
  workerDead = reason;
  for (const p of pending.values()) p.reject(new Error(reason));
  pending.clear();
  setState("error", reason);
}
worker.onerror = (e) => {
  e.preventDefault();
  workerFailed(`the embedding worker failed: ${e.message || "it could not start"}`);
};
worker.onmessageerror = () => workerFailed("the embedding worker sent a message the page cannot read");
// Anything the Content-Security-Policy blocks is a bug of ours: show it rather than half-work.
document.addEventListener("securitypolicyviolation", (e) =>
  setState("error", `blocked by the Content-Security-Policy: ${e.violatedDirective} ${e.blockedURI}`));

function ask(message, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    if (workerDead) return reject(new Error(workerDead));
    pending.set(id, { resolve, reject });
    worker.postMessage({ ...message, id }, transfer);
  });
}

let model = null; // {backend, dim, spec, name}

function setState(state, message = "") {
  document.body.dataset.state = state;
  $("message").textContent = message;
}

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

// --- the gallery ----------------------------------------------------------------------
let gallery = null; // {items: [{path, file, url, label}], embeddings, index, labelled, analysis}
let queryUrl = null; // the object URL of the last query image dropped

function resetGallery() {
  if (gallery) gallery.items.forEach((it) => URL.revokeObjectURL(it.url));
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = null;
  gallery = null;
  for (const id of ["gallery", "query", "results", "metrics", "worst", "cmc-plot", "hist-plot", "pca-plot", "skipped"]) {
    $(id).replaceChildren();
  }
  for (const id of ["search-section", "metrics-section", "map-section", "gallery-section", "skipped-box"]) $(id).hidden = true;
  $("metrics-json").textContent = "";
}

function skip(list, path, reason) {
  list.push({ path, reason });
  const li = document.createElement("li");
  li.textContent = `${path}: ${reason}`;
  $("skipped").append(li);
  $("skipped-box").hidden = false;
  $("skipped-summary").textContent = `${list.length} file(s) skipped`;
}

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
  const dim = model.dim;
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
  gallery = { items: [], embeddings: new Float32Array(items.length * dim), index: new Index(dim), labelled, rowOfItem: [] };
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
      const n = gallery.items.length;
      gallery.embeddings.set(reply.embeddings.subarray(j * dim, (j + 1) * dim), n * dim);
      gallery.index.add([item.path], reply.embeddings.subarray(j * dim, (j + 1) * dim));
      item.url = URL.createObjectURL(item.file);
      gallery.items.push(item);
      gallery.rowOfItem.push(rowOfItem[i + j]);
      $("gallery").append(tile(item, item.path, "", () => searchItem(n)));
    });
    done += chunk.length;
    const seconds = (performance.now() - started) / 1000;
    $("progress").value = done / items.length;
    $("progress-text").textContent =
      `${done}/${items.length} images, ${(gallery.items.length / seconds).toFixed(1)} images/s`;
    document.body.dataset.embedded = String(gallery.items.length);
  }
  gallery.seconds = (performance.now() - started) / 1000;
  $("gallery-count").textContent = `(${gallery.items.length} images, ${gallery.seconds.toFixed(1)} s)`;
  $("search-section").hidden = false;
  drawMap();
  if (labelled) analyse();
  setState("done");
}

function tile(item, caption, cls = "", onClick = null) {
  const div = document.createElement("div");
  div.className = `tile ${cls}`;
  div.title = item.label !== undefined ? `${item.path} (label ${item.label})` : item.path;
  const img = document.createElement("img");
  img.src = item.url;
  img.loading = "lazy";
  img.decoding = "async";
  const text = document.createElement("div");
  text.className = "caption";
  text.textContent = caption;
  div.append(img, text);
  if (onClick) div.addEventListener("click", onClick);
  return div;
}

// --- search ---------------------------------------------------------------------------
function showResults(queryItem, queryEmbedding, excludePath) {
  const hits = gallery.index.search(queryEmbedding, K + (excludePath ? 1 : 0));
  $("query").replaceChildren(tile(queryItem, queryItem.label !== undefined ? `label ${queryItem.label}` : "query", "query"));
  const byPath = new Map(gallery.items.map((it, i) => [it.path, i]));
  const tiles = [];
  hits.ids.forEach((id, j) => {
    if (id === excludePath || tiles.length >= K) return;
    const item = gallery.items[byPath.get(id)];
    let cls = "";
    if (queryItem.label !== undefined && item.label !== undefined) cls = item.label === queryItem.label ? "correct" : "wrong";
    tiles.push(tile(item, hits.distances[j].toFixed(4), cls, () => searchItem(byPath.get(id))));
  });
  $("results").replaceChildren(...tiles);
  $("search-section").hidden = false;
  $("search-section").scrollIntoView({ block: "nearest" });
}

function searchItem(n) {
  const dim = model.dim;
  const item = gallery.items[n];
  showResults(item, gallery.embeddings.subarray(n * dim, (n + 1) * dim), item.path);
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
  showResults({ path: file.name, url: queryUrl, label: undefined }, reply.embeddings, null);
}

// --- metrics and plots ----------------------------------------------------------------
function analyse() {
  const { labelled, items, rowOfItem, embeddings } = gallery;
  const dim = model.dim;
  const rows = labelled.len;
  const perRow = new Float32Array(rows * dim);
  const present = new Uint8Array(rows);
  rowOfItem.forEach((row, n) => {
    if (row < 0) return;
    perRow.set(embeddings.subarray(n * dim, (n + 1) * dim), row * dim);
    present[row] = 1;
  });
  let a;
  try {
    a = labelled.analyse(perRow, dim, present);
  } catch (e) {
    $("message").textContent = `metrics: ${e.message}`;
    return;
  }
  gallery.analysis = a;
  $("metrics-section").hidden = false;
  $("metrics-json").textContent = JSON.stringify(a.metrics);
  $("metrics-note").textContent = `${a.n_queries} queries x ${a.n_gallery} gallery items` +
    (a.missing_rows.length ? `, ${a.missing_rows.length} validation rows without an image left out` : "");
  drawMetricsTable(a.metrics);
  $("cmc-plot").replaceChildren(cmcCurve(a.cmc_curve));
  $("hist-plot").replaceChildren(histograms(a.histogram));
  const itemOfRow = new Map(rowOfItem.map((row, n) => [row, n]));
  const worst = a.queries.slice(0, 8).map((q) => {
    const div = document.createElement("div");
    div.className = "worst-row";
    const n = itemOfRow.get(q.row);
    div.append(tile(items[n], `map@5 ${q.map5.toFixed(2)}`, "query"));
    for (const [row, d, correct] of q.results) {
      div.append(tile(items[itemOfRow.get(row)], d.toFixed(3), correct ? "correct" : "wrong"));
    }
    div.addEventListener("click", () => searchItem(n));
    return div;
  });
  $("worst").replaceChildren(...worst);
}

function drawMetricsTable(metrics) {
  const groups = Object.keys(metrics);
  const names = [];
  for (const [metric, values] of Object.entries(metrics.OVERALL)) {
    if (values && typeof values === "object") for (const k of Object.keys(values)) names.push([metric, k]);
  }
  const head = document.createElement("tr");
  head.append(...["metric", ...groups].map((g) => Object.assign(document.createElement("th"), { textContent: g })));
  const body = names.map(([metric, k]) => {
    const tr = document.createElement("tr");
    tr.dataset.metric = `${metric}/${k}`;
    tr.append(Object.assign(document.createElement("td"), { textContent: `${metric}@${k}` }));
    for (const g of groups) {
      const v = metrics[g]?.[metric]?.[k];
      tr.append(Object.assign(document.createElement("td"), { textContent: typeof v === "number" ? v.toFixed(4) : "–" }));
    }
    return tr;
  });
  $("metrics").replaceChildren(head, ...body);
}

function drawMap() {
  const { items, embeddings } = gallery;
  if (items.length < 3) return;
  const xy = pca2d(embeddings.subarray(0, items.length * model.dim), model.dim);
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
  download(npyBytes(gallery.embeddings.subarray(0, n * model.dim), n, model.dim), "embeddings.npy", "application/octet-stream");
  download(gallery.items.map((it) => it.path).join("\n") + "\n", "embeddings.ids.txt", "text/plain");
});
$("export-json").addEventListener("click", () => {
  const dim = model.dim;
  const json = {
    model: model.spec,
    dim,
    items: gallery.items.map((it, i) => ({
      path: it.path,
      label: it.label ?? null,
      embedding: Array.from(gallery.embeddings.subarray(i * dim, (i + 1) * dim)),
    })),
  };
  download(JSON.stringify(json), "embeddings.json", "application/json");
});

// --- inputs ---------------------------------------------------------------------------
async function useModelFile(file) {
  setState("starting", "");
  try {
    await loadModel(await file.arrayBuffer(), file.name);
    setState("ready");
  } catch (e) {
    setState("error", `${file.name}: ${e.message}`);
  }
}

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
