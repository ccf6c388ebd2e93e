// The browser app end to end in headless Chromium (Debian's), driven by playwright-core.
// scripts/test-web.sh builds the app, prepares a labelled gallery and the native reference
// (`oml metrics` on `oml embed` of the same files and model), then runs:
//   node e2e.test.mjs DIST GALLERY_DIR NATIVE_METRICS_JSON ARTIFACTS_DIR [MANY_IMAGES_DIR]
// Checks: the CPU path is chosen without an adapter and WebGPU with one; dropping the gallery
// folder embeds it (bad files listed as skipped); the page's metrics equal the native ones
// within 1e-4; clicking a query fills the result grid with green/red marks; 500+ images keep
// the page responsive with progress moving. Screenshots go to ARTIFACTS_DIR.
import assert from "node:assert/strict";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const [dist, galleryDir, nativeJson, artifacts, manyDir, exampleDir] = process.argv.slice(2);
const native = JSON.parse(readFileSync(nativeJson, "utf8"));

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css",
  ".safetensors": "application/octet-stream" };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  const [base, rel] = exampleDir && path.startsWith("/example/") ? [exampleDir, path.slice(8)] : [dist, path];
  const file = join(base, rel.endsWith("/") ? `${rel}index.html` : rel);
  try {
    if (!statSync(file).isFile()) throw new Error();
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
  createReadStream(file).pipe(res);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const FLAGS = ["--headless=new", "--no-sandbox", "--no-first-run", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"];

async function open(extraFlags, query = "", ready = ["ready", "error"]) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: [...FLAGS, ...extraFlags] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url + query);
  await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), null, { timeout: 120_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, "ready", `the page did not get ready: ${await page.textContent("#message")} ${errors.join("; ")}`);
  return { browser, page, errors };
}

function compareMetrics(got, want, tolerance, what) {
  let n = 0;
  for (const [group, metrics] of Object.entries(want)) {
    for (const [metric, values] of Object.entries(metrics)) {
      // Metrics without k (map@r, r_precision, mrr) are plain values.
      const keyed = values !== null && typeof values === "object";
      for (const [k, v] of keyed ? Object.entries(values) : [["", values]]) {
        const g = keyed ? got[group]?.[metric]?.[k] : got[group]?.[metric];
        if (v === null) assert.equal(g, null, `${what}: ${group}/${metric}/${k}`);
        else assert.ok(Math.abs(g - v) <= tolerance, `${what}: ${group}/${metric}/${k}: page ${g}, native ${v}`);
        n++;
      }
    }
  }
  assert.ok(n > 20, `${what}: only ${n} values compared`);
  return n;
}

async function dropGallery(page, what, tolerance) {
  const started = Date.now();
  await page.setInputFiles("#folder", galleryDir);
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 600_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), "done", await page.textContent("#message"));
  const seconds = (Date.now() - started) / 1000;
  const skipped = await page.$$eval("#skipped li", (lis) => lis.map((li) => li.textContent));
  assert.equal(skipped.length, 2, `skipped: ${skipped}`);
  assert.ok(skipped.some((s) => s.includes("broken.png") && s.includes("not a decodable image")), skipped.join("; "));
  assert.ok(skipped.some((s) => s.includes("notes.txt") && s.includes("not an image")), skipped.join("; "));
  const metrics = JSON.parse(await page.textContent("#metrics-json"));
  const compared = compareMetrics(metrics, native, tolerance, what);
  assert.ok(await page.$("#cmc-plot svg polyline"), "CMC curve drawn");
  assert.ok((await page.$$("#hist-plot svg rect")).length > 10, "histograms drawn");
  assert.ok((await page.$$("#pca-plot svg circle")).length >= 40, "PCA map drawn");
  assert.ok((await page.$$("#worst .worst-row")).length > 0, "worst queries listed");
  const images = await page.$$eval("#gallery .tile", (t) => t.length);
  return { seconds, images, compared };
}

async function checkSearch(page) {
  // Click a Google drawing (a query of the CSV): its results are Twitter drawings, marked.
  await page.click('#gallery .tile[title*="google"]');
  await page.waitForSelector("#results .tile");
  const query = await page.$$eval("#query .tile.query", (t) => t.length);
  assert.equal(query, 1, "the query is shown with a blue border");
  const marks = await page.$$eval("#results .tile", (tiles) => tiles.map((t) => t.className));
  assert.equal(marks.length, 10, `results: ${marks}`);
  assert.ok(marks.every((c) => c.includes("correct") || c.includes("wrong")), `marks: ${marks}`);
  assert.ok(marks.some((c) => c.includes("correct")), "the query's twin is among its 10 nearest");
  const distances = await page.$$eval("#results .tile .caption", (c) => c.map((e) => Number(e.textContent)));
  assert.ok(distances.every((d, i) => i === 0 || d >= distances[i - 1]), `distances ascend: ${distances}`);
}

/**
 * The package's image inputs in a real browser (main thread, CPU): an ImageBitmap and an
 * ImageData of a photo-like opaque image embed like its encoded bytes (the browser's decoder
 * and ours agree on opaque PNGs), and a File works as bytes do.
 */
async function checkImageInputs(page) {
  return await page.evaluate(async () => {
    const { Embedder } = window.wasmBindings;
    const model = new Uint8Array(await (await fetch("model.safetensors")).arrayBuffer());
    const embedder = await Embedder.load(model, { backend: "cpu" });
    const canvas = new OffscreenCanvas(64, 48);
    const ctx = canvas.getContext("2d");
    for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) {
      ctx.fillStyle = `rgb(${(x * 4) % 256}, ${(y * 5) % 256}, ${((x + y) * 3) % 256})`;
      ctx.fillRect(x, y, 1, 1);
    }
    const blob = await canvas.convertToBlob({ type: "image/png" });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const fromBytes = await embedder.embed(bytes);
    const fromFile = await embedder.embed(new File([blob], "x.png"));
    const fromBitmap = await embedder.embed(await createImageBitmap(blob));
    const fromImageData = await embedder.embed(ctx.getImageData(0, 0, 64, 48));
    // A 1 x 100000 image resizes in bounded memory (it once cost 19.7 GB), and one whose size
    // is over the pixel limit is refused before any canvas or copy is made.
    const tall = await embedder.embed({ data: new Uint8ClampedArray(4 * 100000).fill(200), width: 1, height: 100000 });
    if (tall.length !== fromBytes.length) throw new Error(`1 x 100000: ${tall.length} values`);
    const huge = await embedder.embed({ width: 100000, height: 100000 }).then(() => "embedded", (e) => String(e.message ?? e));
    if (!huge.includes("100000x100000")) throw new Error(`100000 x 100000: ${huge}`);
    const diff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const result = { file: diff(fromFile, fromBytes), bitmap: diff(fromBitmap, fromBytes), image_data: diff(fromImageData, fromBytes) };
    embedder.free();
    if (!(result.file === 0 && result.bitmap < 1e-4 && result.image_data < 1e-4)) throw new Error(JSON.stringify(result));
    return result;
  });
}

/** A new image dropped on the query picker, and model files picked: a bad one is named, a good one loads. */
async function checkPickers(page) {
  const twitter = join(galleryDir, "images/twitter");
  const [first, second] = (await import("node:fs")).readdirSync(twitter);
  // The query tile may show a gallery item already (checkSearch clicked one): wait for a new one.
  const shown = () => document.querySelector("#query .tile img")?.src ?? null;
  const newQuery = (old) => {
    const src = document.querySelector("#query .tile img")?.src;
    return src?.startsWith("blob:") && src !== old;
  };
  const before = await page.evaluate(shown);
  await page.setInputFiles("#query-input", join(twitter, first));
  await page.waitForFunction(newQuery, before);
  assert.equal(await page.$$eval("#results .tile", (t) => t.length), 10, "a picked query image is searched");
  // A second query image: the first one's object URL is revoked.
  const firstUrl = await page.$eval("#query .tile img", (img) => img.src);
  await page.evaluate(() => {
    window.__revoked = [];
    const revoke = URL.revokeObjectURL.bind(URL);
    URL.revokeObjectURL = (u) => { window.__revoked.push(u); revoke(u); };
  });
  await page.setInputFiles("#query-input", join(twitter, second));
  await page.waitForFunction(newQuery, firstUrl);
  assert.deepEqual(await page.evaluate(() => window.__revoked), [firstUrl], "the previous query's object URL is revoked");
  await page.setInputFiles("#model-input", join(galleryDir, "dataset.csv"));
  await page.waitForFunction(() => document.body.dataset.state === "error");
  assert.match(await page.textContent("#message"), /dataset\.csv: .*not a safetensors file/);
  await page.setInputFiles("#model-input", join(dist, "model.safetensors"));
  await page.waitForFunction(() => document.body.dataset.state === "ready");
  assert.match(await page.textContent("#model-name"), /model\.safetensors \(mobilenet_v2, 1280-d\)/);
}

/** The wasm package's example page (wasm/example) with the built package: embed, click, search. */
async function checkExamplePage() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  const page = await browser.newPage();
  await page.goto(`${url}example/`);
  await page.waitForFunction(() => !document.getElementById("files").disabled, null, { timeout: 120_000 });
  assert.equal((await page.textContent("#badge")).trim(), "cpu");
  const google = join(galleryDir, "images/google");
  const files = (await import("node:fs")).readdirSync(google).slice(0, 5).map((f) => join(google, f));
  await page.setInputFiles("#files", files);
  await page.waitForFunction(() => document.querySelectorAll("#gallery .tile").length === 5, null, { timeout: 120_000 });
  await page.click("#gallery .tile");
  await page.waitForSelector("#results .tile");
  const captions = await page.$$eval("#results .tile", (t) => t.map((e) => e.textContent));
  assert.equal(captions.length, 5);
  assert.equal(Number(captions[0]), 0, "the clicked image is its own nearest, at distance 0");
  await page.screenshot({ path: join(artifacts, "package-example.png") });
  await browser.close();
}

const report = {};

// --- CPU: no adapter without --enable-unsafe-webgpu
{
  const { browser, page, errors } = await open([]);
  assert.equal(await page.evaluate(() => document.body.dataset.backend), "cpu");
  assert.equal((await page.textContent("#backend")).trim(), "CPU");
  const r = await dropGallery(page, "cpu", 1e-4);
  await checkSearch(page);
  report.image_inputs = await checkImageInputs(page);
  await checkPickers(page);
  await page.screenshot({ path: join(artifacts, "web-cpu.png"), fullPage: true });
  const policy = await page.evaluate(
    () => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content);
  assert.match(policy ?? "", /default-src 'none'/, "the page ships a Content-Security-Policy");
  assert.deepEqual(errors, [], "no errors in the page (a blocked resource would be one)");
  report.cpu = r;
  await browser.close();
}

// --- WebGPU: SwiftShader's fallback adapter with --enable-unsafe-webgpu
{
  const { browser, page } = await open(["--enable-unsafe-webgpu"]);
  const backend = await page.evaluate(() => document.body.dataset.backend);
  report.webgpu_adapter = backend === "webgpu";
  if (backend === "webgpu") {
    assert.equal((await page.textContent("#backend")).trim(), "WebGPU");
    report.webgpu = await dropGallery(page, "webgpu", 1e-3);
    await checkSearch(page);
    await page.screenshot({ path: join(artifacts, "web-webgpu.png"), fullPage: true });
  }
  await browser.close();
}

// --- A worker that cannot start: the page says so instead of waiting forever.
{
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  const page = await browser.newPage();
  await page.route("**/worker.js", (route) =>
    route.fulfill({ contentType: "text/javascript", body: "throw new Error('broken worker');" }));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === "error", null, { timeout: 60_000 });
  assert.match(await page.textContent("#message"), /embedding worker failed/);
  await browser.close();
}

// --- Many images: the page stays responsive and progress keeps moving.
if (manyDir) {
  const { browser, page } = await open([]);
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => { window.__frames.push(t - last); last = t; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  await page.setInputFiles("#folder", manyDir);
  const samples = [];
  for (let i = 0; i < 12; i++) {
    await page.waitForTimeout(2500);
    samples.push(await page.evaluate(() => ({
      embedded: Number(document.body.dataset.embedded || 0),
      heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    })));
  }
  const frames = await page.evaluate(() => window.__frames.slice(5));
  const embedded = samples.map((s) => s.embedded);
  for (let i = 4; i < embedded.length; i += 4) assert.ok(embedded[i] > embedded[i - 4], `progress stalled: ${embedded}`);
  const longest = Math.max(...frames);
  assert.ok(longest < 500, `the page froze for ${longest.toFixed(0)} ms`);
  const heapMb = Math.max(...samples.map((s) => s.heap)) / 2 ** 20;
  assert.ok(heapMb < 256, `page heap ${heapMb.toFixed(0)} MiB`);
  report.many = {
    embedded_after_30s: embedded.at(-1),
    steady_images_per_s: +((embedded.at(-1) - embedded[0]) / (2.5 * (embedded.length - 1))).toFixed(1),
    longest_frame_ms: Math.round(longest),
    max_heap_mib: Math.round(heapMb),
  };
  await page.screenshot({ path: join(artifacts, "web-many.png") });
  await browser.close();
}

if (exampleDir) {
  await checkExamplePage();
  report.package_example = "ok";
}

server.close();
console.log(JSON.stringify(report));
