"""The `implicit` library's CPU BPR on the file that bench/bpr-throughput.ts wrote.

Usage: python bench/bpr-implicit.py TRAIN.tsv OUTDIR --factors F --epochs E --lr X --reg X --threads 1,2
TRAIN.tsv holds `user<TAB>item<TAB>1` with integer ids 0..n-1. For each thread count, trains
BayesianPersonalizedRanking (popularity-weighted negatives with verification, its only mode) and writes
OUTDIR/implicit-tT.f32u / .f32i (float32 factors, rows x (factors+1), the last column the item bias) and
prints one JSON line per run: {"threads", "seconds", "cpu_seconds", "samples", "samples_per_s", "users", "items"}.
"""
import argparse, json, sys, time

import numpy as np
import scipy.sparse as sp
import implicit
from implicit.cpu.bpr import BayesianPersonalizedRanking

p = argparse.ArgumentParser()
p.add_argument("train")
p.add_argument("outdir")
p.add_argument("--factors", type=int, default=64)
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--lr", type=float, default=0.05)
p.add_argument("--reg", type=float, default=0.01)
p.add_argument("--threads", default="1,2")
p.add_argument("--users", type=int, required=True)
p.add_argument("--items", type=int, required=True)
a = p.parse_args()

data = np.loadtxt(a.train, dtype=np.int64, delimiter="\t", usecols=(0, 1))
m = sp.csr_matrix((np.ones(len(data), dtype=np.float32), (data[:, 0], data[:, 1])), shape=(a.users, a.items))
m.sum_duplicates()
print(f"implicit {implicit.__version__}: {m.shape[0]} x {m.shape[1]}, {m.nnz} pairs", file=sys.stderr)
for t in [int(x) for x in a.threads.split(",")]:
    model = BayesianPersonalizedRanking(factors=a.factors, learning_rate=a.lr, regularization=a.reg, iterations=a.epochs,
                                        num_threads=t, random_state=1, verify_negative_samples=True)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(m, show_progress=False)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.ascontiguousarray(model.user_factors, dtype="<f4").tofile(f"{a.outdir}/implicit-t{t}.f32u")
    np.ascontiguousarray(model.item_factors, dtype="<f4").tofile(f"{a.outdir}/implicit-t{t}.f32i")
    print(json.dumps({"threads": t, "seconds": secs, "cpu_seconds": cpu, "samples": int(m.nnz) * a.epochs, "samples_per_s": m.nnz * a.epochs / secs,
                      "users": m.shape[0], "items": m.shape[1], "stride": int(model.item_factors.shape[1])}), flush=True)
