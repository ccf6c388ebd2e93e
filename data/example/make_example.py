"""Writes the bundled example (dataset.csv + embeddings.npy) from OML's reference case
`random_small` (tests/fixtures/oml-metrics/random_small.oml.json), so that `oml metrics` on it
can be compared with the values OML 4.0.0 computed there. Standard library only.

Run from this folder: python3 make_example.py
"""

import json
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
case = json.loads((HERE / "../../tests/fixtures/oml-metrics/random_small.oml.json").read_text())
inputs = case["inputs"]
emb = inputs["embeddings"]
rows, dim = len(emb), len(emb[0])

# .npy version 1.0: magic, version, little-endian header length, header padded to 64 bytes.
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, dim)
header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
with open(HERE / "embeddings.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
    for row in emb:
        f.write(struct.pack("<%df" % dim, *row))

categories = ["shoes", "bags", "hats"]
with open(HERE / "dataset.csv", "w") as f:
    f.write("label,path,split,is_query,is_gallery,category,sequence\n")
    for i in range(rows):
        seq = inputs["sequence"][i]
        f.write(
            "%d,images/%03d.png,validation,%s,%s,%s,%s\n"
            % (
                inputs["labels"][i],
                i,
                inputs["is_query"][i],
                inputs["is_gallery"][i],
                categories[int(inputs["category"][i])],
                "" if seq is None else "seq%s" % seq,
            )
        )
