"""Reads back what `oml-train`'s `[logger]` wrote, with the loggers' own code: TensorBoard's
`EventAccumulator` on the event files, and the MLflow tracking server's REST API, and checks
them against the run folder's own logs (steps.csv, metrics.csv, config.toml).

    python check_loggers.py RUN_DIR TENSORBOARD_DIR MLFLOW_URI EXPERIMENT
"""

import csv
import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

run, tb_dir, uri, experiment = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
steps = list(csv.DictReader(open(run / "steps.csv")))
metrics = list(csv.DictReader(open(run / "metrics.csv")))
config = (run / "config.toml").read_text()
checked = []


def close(a, b, what):
    assert abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b))), f"{what}: {a} vs {b}"


# TensorBoard.
acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
loss = acc.Scalars("train/loss")
assert len(loss) == len(steps), f"{len(loss)} loss events for {len(steps)} steps"
for event, row in zip(loss, steps):
    assert event.step == int(row["step"]), (event.step, row["step"])
    close(event.value, row["loss"], "train/loss")
lr = acc.Scalars("train/lr")
for event, row in zip(lr, steps):
    close(event.value, row["lr"], "train/lr")
assert len(acc.Scalars("train/images_per_s")) == len(steps)
cmc = acc.Scalars("valid/OVERALL/cmc/1")
assert [e.step for e in cmc] == [int(r["epoch"]) for r in metrics], cmc
for event, row in zip(cmc, metrics):
    close(event.value, row["OVERALL/cmc/1"], "valid/OVERALL/cmc/1")
for name in ["report/cmc", "report/loss", "report/lr", "report/distances", "report/worst_queries"]:
    image = acc.Images(name)[-1]
    png = image.encoded_image_string
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and image.width > 0 and image.height > 0, name
text = tensor_util.make_ndarray(acc.Tensors("config")[0].tensor_proto)
assert text.reshape(-1)[0].decode() == config, "the config text"
checked.append(f"tensorboard: {len(loss)} steps, {len(cmc)} validations, 2 images, the config")


# MLflow.
def api(path, **query):
    url = f"{uri}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}"
    return json.load(urllib.request.urlopen(url))


def post(path, body):
    request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))


exp = api("experiments/get-by-name", experiment_name=experiment)["experiment"]
runs = post("runs/search", {"experiment_ids": [exp["experiment_id"]]})["runs"]
assert len(runs) == 1, runs
info, data = runs[0]["info"], runs[0]["data"]
assert info["status"] == "FINISHED", info
ids = json.loads((run / "mlflow_run.json").read_text())
assert ids["run_id"] == info["run_id"]
params = {p["key"]: p["value"] for p in data["params"]}
assert params["optimizer.name"] == "adam" and float(params["optimizer.lr"]) > 0, params
history = api("metrics/get-history", run_id=info["run_id"],
              metric_key="valid/OVERALL/cmc/1")["metrics"]
assert sorted(m["step"] for m in history) == [int(r["epoch"]) for r in metrics], history
for m in sorted(history, key=lambda m: m["step"]):
    close(m["value"], metrics[m["step"]]["OVERALL/cmc/1"], "mlflow valid/OVERALL/cmc/1")
map_r = api("metrics/get-history", run_id=info["run_id"], metric_key="valid/OVERALL/map_at_r")
assert len(map_r["metrics"]) == len(metrics), "map@r is logged as map_at_r"
losses = api("metrics/get-history", run_id=info["run_id"], metric_key="train/loss")["metrics"]
assert len(losses) == len(steps), (len(losses), len(steps))
files = {f["path"] for f in api("artifacts/list", run_id=info["run_id"]).get("files", [])}
assert {"config.toml", "report/cmc.png", "report/worst_queries.png"} <= files or \
    {"config.toml", "report"} <= files, files
checked.append(f"mlflow: run {info['run_id']}, {len(params)} params, {len(losses)} steps, "
               f"{len(history)} validations, artifacts {sorted(files)}")
print("\n".join(checked))
