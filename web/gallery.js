// The gallery's state: its items (path, file, object URL, label), their embeddings (one copy,
// row n = item n), the wasm Index that searches them, and the labelled CSV rows they match.
// No DOM here: views.js draws it.

export class Gallery {
  /** `capacity` items of `dim` floats at most; `labelled` is a LabelledSet or null. */
  constructor(Index, dim, capacity, labelled) {
    this.dim = dim;
    this.items = [];
    this.embeddings = new Float32Array(capacity * dim);
    this.index = new Index(dim);
    this.labelled = labelled;
    this.rowOfItem = []; // the CSV row of each item, -1 when it has none
    this.analysis = null;
    this.seconds = 0;
  }

  /** Adds an embedded item (it gets an object URL for its image); returns its number. */
  add(item, embedding, row) {
    const n = this.items.length;
    this.embeddings.set(embedding, n * this.dim);
    this.index.add([item.path], embedding);
    item.url = URL.createObjectURL(item.file);
    this.items.push(item);
    this.rowOfItem.push(row);
    return n;
  }

  /** The embedding of item `n` (a view, not a copy). */
  embedding(n) {
    return this.embeddings.subarray(n * this.dim, (n + 1) * this.dim);
  }

  /** All items' embeddings, `items.length x dim` (a view). */
  all() {
    return this.embeddings.subarray(0, this.items.length * this.dim);
  }

  /** The `k` nearest items to `embedding`, without the one at `excludePath`: [{n, distance}]. */
  search(embedding, k, excludePath) {
    const hits = this.index.search(embedding, k + (excludePath ? 1 : 0));
    const byPath = new Map(this.items.map((it, i) => [it.path, i]));
    const found = [];
    hits.ids.forEach((id, j) => {
      if (id !== excludePath && found.length < k) found.push({ n: byPath.get(id), distance: hits.distances[j] });
    });
    return found;
  }

  /** One embedding per labelled CSV row (zeros where no item matched) and which rows have one. */
  perRow() {
    const rows = this.labelled.len;
    const perRow = new Float32Array(rows * this.dim);
    const present = new Uint8Array(rows);
    this.rowOfItem.forEach((row, n) => {
      if (row < 0) return;
      perRow.set(this.embedding(n), row * this.dim);
      present[row] = 1;
    });
    return { perRow, present };
  }

  /** Gives the items' object URLs back. */
  release() {
    this.items.forEach((it) => URL.revokeObjectURL(it.url));
  }
}
