"""Reads what `oml embed` and `oml export` wrote with the formats' reference readers (numpy,
safetensors, pyarrow, json) and checks every value is identical. Run by
scripts/check-exports.sh:

    python check_exports.py DIR

DIR holds e.npy (+ e.ids.txt), e.safetensors (+ e.ids.txt), e.jsonl, e.parquet of the same
rows of dataset.csv, and model.safetensors from `oml export`.
"""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from safetensors import safe_open
from safetensors.numpy import load_file


def main(folder: Path) -> None:
    rows = list(csv.DictReader(open(folder / "dataset.csv")))
    ids = [r["path"] for r in rows]
    labels = [int(r["label"]) for r in rows]
    categories = [r["category"] or None for r in rows]

    npy = np.load(folder / "e.npy")
    assert npy.dtype == np.float32 and npy.shape == (len(rows), npy.shape[1]), npy.shape
    assert (folder / "e.ids.txt").read_text().splitlines() == ids

    tensors = load_file(folder / "e.safetensors")
    assert list(tensors) == ["embeddings"], list(tensors)
    assert np.array_equal(tensors["embeddings"], npy)
    with safe_open(folder / "e.safetensors", "np") as f:
        assert json.loads(f.metadata()["ids"]) == ids

    lines = (folder / "e.jsonl").read_text().splitlines()
    assert len(lines) == len(rows)
    for i, line in enumerate(lines):
        row = json.loads(line)
        assert list(row) == ["id", "label", "category", "embedding"], list(row)
        assert (row["id"], row["label"], row["category"]) == (ids[i], labels[i], categories[i])
        assert np.array_equal(np.asarray(row["embedding"], dtype=np.float32), npy[i]), f"row {i}"

    table = pq.read_table(folder / "e.parquet")
    assert table.column_names == ["id", "label", "category", "embedding"], table.column_names
    assert str(table.schema.field("embedding").type) == f"fixed_size_list<item: float not null>[{npy.shape[1]}]"
    assert table.column("id").to_pylist() == ids
    assert table.column("label").to_pylist() == labels
    assert table.column("category").to_pylist() == categories
    emb = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    assert emb.dtype == np.float32 and np.array_equal(emb, npy)

    with safe_open(folder / "model.safetensors", "np") as f:
        meta = f.metadata()
        assert meta["oml.format"] == "oml-rs-model" and meta["oml.format_version"] == "1"
        spec = json.loads(meta["oml.model"])
        assert spec["arch"] == "mobilenet_v2" and spec["feat_dim"] == npy.shape[1], spec
        keys = list(f.keys())
        first = f.get_tensor("extractor.MobileNetV2.stem.conv.weight")
        assert first.dtype == np.float32 and first.shape == (32, 3, 3, 3), first.shape
    print(f"check_exports: {len(rows)} rows x {npy.shape[1]} and a model file of {len(keys)} tensors "
          "read back identical by numpy, safetensors, json and pyarrow")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
