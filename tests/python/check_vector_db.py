"""`oml embed`'s Parquet export loaded into a real vector database (LanceDB, embedded) and
searched there: the top-k of every query equals `oml index search`'s on the same model.

    python check_vector_db.py GALLERY.parquet QUERIES.parquet SEARCH.jsonl K DB_DIR
"""

import json
import math
import sys

import lancedb
import pyarrow.parquet as pq

gallery_path, queries_path, search_path, k_arg, db_dir = sys.argv[1:]
k = int(k_arg)

gallery = pq.read_table(gallery_path)
queries = pq.read_table(queries_path)
assert gallery.schema.field("embedding").type.list_size > 0, gallery.schema
db = lancedb.connect(db_dir)
table = db.create_table("gallery", data=gallery)
assert table.count_rows() == gallery.num_rows

expected = {}
with open(search_path) as f:
    for line in f:
        row = json.loads(line)
        expected[row["query"]] = row

checked = 0
for query_id, vector in zip(queries.column("id").to_pylist(), queries.column("embedding").to_pylist()):
    # No ANN index is built, so LanceDB searches exhaustively; its "l2" is the squared distance.
    hits = table.search(vector).metric("l2").limit(k).to_list()
    ids = [h["id"] for h in hits]
    distances = [math.sqrt(max(h["_distance"], 0.0)) for h in hits]
    want = expected[query_id]
    for got, ours in zip(distances, want["distances"]):
        assert abs(got - ours) <= 1e-3 * max(1.0, ours), (query_id, distances, want["distances"])
    # Ids equal, except where two distances tie within float error (order undefined there).
    for i, (a, b) in enumerate(zip(ids, want["gallery"])):
        if a != b:
            assert abs(distances[i] - want["distances"][i]) < 1e-4 and b in ids, (query_id, ids, want)
    checked += 1

assert checked == len(expected), (checked, len(expected))
print(f"lancedb {lancedb.__version__}: {checked} queries, top {k} of {gallery.num_rows} equal to oml index search")
