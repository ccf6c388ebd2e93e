// The page's side of worker.js: requests with ids, answered by promises. A worker that fails
// (its script, its wasm, a message it cannot read) rejects every pending request and reports
// why through `onFailure`, instead of leaving the page waiting forever.

export function workerClient(url, onFailure) {
  const worker = new Worker(url, { type: "module" });
  let nextId = 0;
  const pending = new Map();
  let dead = null; // why the worker stopped, once it has

  function failed(reason) {
    dead = reason;
    for (const p of pending.values()) p.reject(new Error(reason));
    pending.clear();
    onFailure(reason);
  }
  worker.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    data.type === "error" ? p.reject(new Error(data.error)) : p.resolve(data);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    failed(`the embedding worker failed: ${e.message || "it could not start"}`);
  };
  worker.onmessageerror = () => failed("the embedding worker sent a message the page cannot read");

  /** Sends `message` (transferring `transfer`); resolves with the worker's reply. */
  function ask(message, transfer = []) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (dead) return reject(new Error(dead));
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  }
  return { ask };
}
