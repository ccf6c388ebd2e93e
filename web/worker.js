// The Web Worker that embeds: it loads the same wasm module as the page, keeps the model and
// answers one message at a time, so the page never waits on a forward pass.
//   {type: "load", bytes, backend}  -> {type: "loaded", backend, dim, spec} | {type: "error"}
//   {type: "embed", id, files}      -> {type: "embedded", id, embeddings, ok, errors}
// A batch with a bad image is redone image by image: bad ones come back as errors, the rest
// are embedded (ok[i] = 1).
import init, { Embedder } from "./oml-browser-app.js";

const ready = init({ module_or_path: new URL("./oml-browser-app_bg.wasm", import.meta.url) });
let embedder = null;
let queue = Promise.resolve();

async function handle(m) {
  await ready;
  if (m.type === "load") {
    const next = await Embedder.load(new Uint8Array(m.bytes), { backend: m.backend || "auto" });
    if (embedder) embedder.free();
    embedder = next;
    postMessage({ type: "loaded", id: m.id, backend: embedder.backend, dim: embedder.dim, spec: embedder.spec });
    return;
  }
  if (m.type === "embed") {
    const dim = embedder.dim;
    const ok = new Uint8Array(m.files.length);
    const errors = [];
    let embeddings;
    try {
      embeddings = await embedder.embedBatch(m.files);
      ok.fill(1);
    } catch {
      embeddings = new Float32Array(m.files.length * dim);
      for (let i = 0; i < m.files.length; i++) {
        try {
          embeddings.set(await embedder.embed(m.files[i]), i * dim);
          ok[i] = 1;
        } catch (e) {
          errors.push({ index: i, error: e.message });
        }
      }
    }
    postMessage({ type: "embedded", id: m.id, embeddings, ok, errors }, [embeddings.buffer]);
  }
}

onmessage = (event) => {
  const m = event.data;
  queue = queue.then(() => handle(m)).catch((e) =>
    postMessage({ type: "error", id: m.id, error: e.message || String(e) }));
};
