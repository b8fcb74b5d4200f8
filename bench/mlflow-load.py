"""The bench workload, through MLflow's real Python client (bench/mlflow.mjs runs it).

N runs, each: runs/create + one log_batch (5 params, 3 metrics x 100 steps) + runs/update;
then two searches with a filter and order_by. Prints one JSON line of timings.
"""
import json
import os
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

n = int(sys.argv[1])
client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
name = "bench-%d" % int(time.time() * 1000)
exp = client.create_experiment(name)
per = []
t0 = time.perf_counter()
for i in range(n):
    a = time.perf_counter()
    run = client.create_run(exp, run_name="r%d" % i)
    rid = run.info.run_id
    now = int(time.time() * 1000)
    params = [Param("lr", str(0.001 * (1 + i % 10))), Param("opt", ["adam", "sgd"][i % 2]), Param("depth", str(2 + i % 7)), Param("batch", "64"), Param("seed", str(i))]
    metrics = []
    for s in range(100):
        metrics.append(Metric("acc", (i % 100) / 100 * (s + 1) / 100, now + s, s))
        metrics.append(Metric("loss", 1 - (i % 100) / 100 * (s + 1) / 100, now + s, s))
        metrics.append(Metric("lr_now", 0.001 * (100 - s), now + s, s))
    client.log_batch(rid, metrics=metrics, params=params)
    client.set_terminated(rid, "FINISHED")
    per.append(time.perf_counter() - a)
total = time.perf_counter() - t0
searches = []
for flt, order, mx in [("metrics.acc > 0.5", ["metrics.acc DESC"], 1000), ("params.opt = 'adam' and metrics.loss < 0.5", ["attributes.start_time"], 100)]:
    a = time.perf_counter()
    got = client.search_runs([exp], filter_string=flt, order_by=order, max_results=mx)
    searches.append({"filter": flt, "order_by": order, "runs": len(got), "s": time.perf_counter() - a})
per.sort()
print(json.dumps({"experiment": name, "runs": n, "total_s": total, "per_run_ms": 1000 * total / max(n, 1), "median_ms": 1000 * per[len(per) // 2] if per else 0, "searches": searches}))
