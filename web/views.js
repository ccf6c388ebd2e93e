// What the page shows: its state, tiles, search results, the skipped list, the metric table
// and the worst queries. Pure drawing: the data comes from gallery.js and the wasm module.
import { cmcCurve, histograms } from "./plots.js";

export const $ = (id) => document.getElementById(id);

/** <body data-state="starting|ready|embedding|done|error">, for tests and users. */
export function setState(state, message = "") {
  document.body.dataset.state = state;
  $("message").textContent = message;
}

/** Empties every gallery, search and metrics view. */
export function clearViews() {
  for (const id of ["gallery", "query", "results", "metrics", "worst", "cmc-plot", "hist-plot", "pca-plot", "skipped"]) {
    $(id).replaceChildren();
  }
  for (const id of ["search-section", "metrics-section", "map-section", "gallery-section", "skipped-box"]) $(id).hidden = true;
  $("metrics-json").textContent = "";
}

/** Adds `path` to the skipped list with its reason. */
export function skip(list, path, reason) {
  list.push({ path, reason });
  const li = document.createElement("li");
  li.textContent = `${path}: ${reason}`;
  $("skipped").append(li);
  $("skipped-box").hidden = false;
  $("skipped-summary").textContent = `${list.length} file(s) skipped`;
}

/** An image tile with a caption; `cls` marks it (query, correct, wrong). */
export function tile(item, caption, cls = "", onClick = null) {
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

/** The query and its results (gallery items with distances), marked correct or wrong when
 * both have labels; clicking a result searches with it. */
export function showResults(queryItem, results, onPick) {
  $("query").replaceChildren(tile(queryItem, queryItem.label !== undefined ? `label ${queryItem.label}` : "query", "query"));
  const tiles = results.map(({ item, distance, n }) => {
    let cls = "";
    if (queryItem.label !== undefined && item.label !== undefined) cls = item.label === queryItem.label ? "correct" : "wrong";
    return tile(item, distance.toFixed(4), cls, () => onPick(n));
  });
  $("results").replaceChildren(...tiles);
  $("search-section").hidden = false;
  $("search-section").scrollIntoView({ block: "nearest" });
}

/** The analysis of a labelled gallery: metric table, plots and the 8 worst queries. */
export function showAnalysis(a, items, rowOfItem, onPick) {
  $("metrics-section").hidden = false;
  $("metrics-json").textContent = JSON.stringify(a.metrics);
  $("metrics-note").textContent = `${a.n_queries} queries x ${a.n_gallery} gallery items` +
    (a.missing_rows.length ? `, ${a.missing_rows.length} validation rows without an image left out` : "");
  metricsTable(a.metrics);
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
    div.addEventListener("click", () => onPick(n));
    return div;
  });
  $("worst").replaceChildren(...worst);
}

function metricsTable(metrics) {
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
