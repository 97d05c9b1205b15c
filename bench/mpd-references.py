"""Protocol (a) on MPD, side by side: our pipeline (with and without its trained BPR) against standard collaborative
filtering references on exactly the same queries, to see what the sample allows.

Usage (from the repository root, after `npm run build`; numpy, scipy, scikit-learn and implicit from PyPI in a venv:
python3 -m venv /tmp/mpd-venv && /tmp/mpd-venv/bin/pip install numpy scipy scikit-learn implicit):

    nice -n 10 /tmp/mpd-venv/bin/python bench/mpd-references.py --playlists /work/shared/data/mpd-sample \
        --work /tmp/mpd-references --json docs/results/eval-mpd-references.json \
        --markdown docs/results/eval-mpd-references.md

1. Runs `buddies eval mpd` twice (ppmi-svd, no ablations; once `--on validation`, once on test), each with
   `--export-split`, so the splits scored here are the ones our protocol scores. `--reuse` skips this step when the
   work folder already holds both results.
2. Recomputes the IDF-overlap baseline on each split and checks that its metrics equal the ones our command wrote
   (to 1e-9): same queries, same metric, same ties.
3. For each reference family tries a small grid on the validation split; the best setting of each is scored once on
   test. The test queries never guide a choice. Every reference ranks the whole corpus by the expected share of a
   playlist's tracks in the hidden half: the sum of per-track scores over the playlist's tracks the query has not
   heard, divided by the playlist's length to a power (`lp`, part of the grid).
   - user-kNN: the query's nearest corpus playlists by IDF cosine (the baseline's similarity), each voting for its
     tracks with similarity^alpha;
   - item-kNN: track-track cosine over playlist co-occurrence, summed over the known tracks, to a power;
   - RP3beta: a 3-step random walk query track -> playlist -> track, with edge weights to a power and the landing
     track's popularity discounted by df^beta;
   - ALS (`implicit`): trained on the corpus, each query folded in from its known tracks; a softmax over the
     query's scores gives the per-track chances;
   - blend: the geometric mean of the best user-kNN and item-kNN chances (each scaled to its maximum);
   - learned reranker: scikit-learn's HistGradientBoostingRegressor on (query, playlist) features (the scores above,
     IDF cosine, known overlap, length, mean track popularity), trained on the validation queries to predict a
     playlist's hidden share, applied to test;
   - and, as a bound rather than a method, the oracle: per query the k playlists with the highest hidden share.
4. Writes one table: validation and test mean hidden share @K per row and its ratio to the IDF-overlap baseline.
"""
import argparse, json, math, os, shlex, subprocess, sys, time, warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="Method and steps: see the top of bench/mpd-references.py.")
p.add_argument("--playlists", required=True, help="MPD slices folder (never copied: the splits go to --work)")
p.add_argument("--work", default="/tmp/mpd-references", help="scratch folder: the exported splits and our JSON results")
p.add_argument("--buddies", default="node bin/buddies.js", help="how to run our CLI (default: the built one)")
p.add_argument("--ours-flags", default="", help="extra flags for our runs (both splits), e.g. '--bpr-factors 128'")
p.add_argument("--reuse", action="store_true", help="reuse our results and splits already in --work")
p.add_argument("--json", help="write the results as JSON")
p.add_argument("--markdown", help="write the table as Markdown")
a = p.parse_args()
try:
    import numpy as np  # after the flags, so --help works without them
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from sklearn.ensemble import HistGradientBoostingRegressor
except ImportError as e:
    sys.exit(f"mpd-references: {e}; install numpy, scipy, scikit-learn and implicit from PyPI in a venv (see --help)")

def log(msg):
    print(f"[mpd-references] {msg}", file=sys.stderr, flush=True)

if not os.path.isdir(a.playlists):
    sys.exit(f"mpd-references: --playlists {a.playlists}: no such folder")
try:
    os.makedirs(a.work, exist_ok=True)
except OSError as e:
    sys.exit(f"mpd-references: cannot make --work {a.work}: {e.strerror}; choose a writable folder")
split_dir = os.path.join(a.work, "split")

# 1. ours, on both splits, exporting the splits
ours = {}
for on in ("validation", "test"):
    out = os.path.join(a.work, f"ours-{on}.json")
    if not (a.reuse and os.path.exists(out) and os.path.exists(os.path.join(split_dir, f"{on}.json"))):
        cmd = (shlex.split(a.buddies) + ["eval", "mpd", "--playlists", a.playlists, "--methods", "ppmi-svd", "--no-ablations",
               "--on", on, "--export-split", split_dir, "--out", out, "--runs", os.path.join(a.work, "runs.jsonl")] + shlex.split(a.ours_flags))
        log(f"ours on {on}: {' '.join(shlex.quote(c) for c in cmd)}")
        r = subprocess.run(cmd)
        if r.returncode != 0:
            sys.exit(f"mpd-references: our eval mpd exited {r.returncode}; run it alone to see why (did you run `npm run build`?)")
    ours[on] = json.load(open(out))


class Split:
    """One exported split as sparse matrices: corpus playlists x tracks, queries' known and hidden tracks."""

    def __init__(self, path):
        d = json.load(open(path))
        self.d = d
        self.k = d["k"]
        self.ids = [c["id"] for c in d["corpus"]]
        vocab = {}
        rows, cols = [], []
        for i, c in enumerate(d["corpus"]):
            for t in c["tracks"]:
                rows.append(i); cols.append(vocab.setdefault(t, len(vocab)))
        self.vocab = vocab
        self.A = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(self.ids), len(vocab)))
        self.lens = np.asarray(self.A.sum(1)).ravel()
        self.df = np.asarray(self.A.sum(0)).ravel()
        self.Q = self._queries("known")
        self.H = self._queries("hidden")
        self.Qd = self.Q.toarray().astype(bool)
        self.hidden_sizes = np.array([len(q["hidden"]) for q in d["queries"]])
        # the hidden share of every corpus playlist for every query
        self.share = (self.H @ self.A.T).toarray() / self.lens[None, :]
        self.hidden_counts = (self.H @ self.A.T).toarray()
        self.id_rank = np.argsort(np.argsort(np.array(self.ids, dtype=object)))  # position in id order, for ties

    def _queries(self, which):
        r, c = [], []
        for i, q in enumerate(self.d["queries"]):
            for t in dict.fromkeys(q[which]):
                j = self.vocab.get(t)
                if j is not None:
                    r.append(i); c.append(j)
        return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(self.d["queries"]), len(self.vocab)))

    def top(self, scores, valid=None):
        """Top k per query, highest score first, ties by playlist id (as ours sorts); `valid` masks candidates."""
        out = []
        for qi in range(scores.shape[0]):
            s = scores[qi]
            cand = np.nonzero(valid[qi])[0] if valid is not None else np.arange(len(s))
            order = np.lexsort((self.id_rank[cand], -s[cand]))
            out.append(cand[order[: self.k]])
        return out

    def metrics(self, tops):
        """scoreMpd: mean hidden share, hit rate and hidden-set coverage over k slots."""
        share = hit = cover = 0.0
        for qi, top in enumerate(tops):
            share += self.share[qi, top].sum() / self.k
            hit += (self.hidden_counts[qi, top] > 0).sum() / self.k
            covered = np.asarray(self.H[qi].multiply(self.A[top].sum(0) > 0).sum())
            cover += float(covered) / self.hidden_sizes[qi]
        n = max(1, len(tops))
        return {"hiddenShare": share / n, "hitRate": hit / n, "coverage": cover / n}

    def idf_cosine(self):
        """IDF cosine of every query to every corpus playlist (the baseline's similarity; user-kNN's neighbours)."""
        n = self.A.shape[0]
        idf = np.log(n / self.df)
        pn = np.sqrt(self.A @ (idf ** 2))
        qn = np.sqrt(self.Q @ (idf ** 2))
        dot = (self.Q.multiply(idf[None, :] ** 2)).tocsr() @ self.A.T
        return dot.toarray() / np.maximum(qn[:, None] * pn[None, :], 1e-300)

    def expected_share(self, P, lp):
        """Sum of per-track chances over each playlist's unheard tracks, over its length^lp."""
        P = P.copy()
        P[self.Qd] = 0
        return (self.A @ P.T).T / self.lens[None, :] ** lp


def idf_overlap_exact(d):
    """models/eval/mpd-protocol.ts idfOverlapBaseline, step for step in the same order (float sums and all), so that
    exact ties fall the same way; the sparse version above can differ in the last bit and break ties otherwise."""
    n = len(d["corpus"])
    by_track = {}
    for i, c in enumerate(d["corpus"]):
        for t in c["tracks"]:
            by_track.setdefault(t, []).append(i)
    idf = lambda t: math.log(n / len(by_track[t])) if t in by_track else 0.0
    norms = []
    for c in d["corpus"]:
        acc = 0.0
        for t in c["tracks"]:
            acc += idf(t) ** 2
        norms.append(math.sqrt(acc))
    tops = []
    for q in d["queries"]:
        uniq = list(dict.fromkeys(q["known"]))
        qn = 0.0
        for t in uniq:
            qn += idf(t) ** 2
        qn = math.sqrt(qn)
        acc = {}
        for t in uniq:
            w = idf(t) ** 2
            for i in by_track.get(t, []):
                acc[i] = acc.get(i, 0.0) + w
        scored = [(-(dot / (qn * norms[i]) if qn > 0 and norms[i] > 0 else 0.0), d["corpus"][i]["id"], i) for i, dot in acc.items()]
        tops.append(np.array([i for _, _, i in sorted(scored)[: d["k"]]], dtype=int))
    return tops


splits = {}
for on in ("validation", "test"):
    t0 = time.time()
    s = Split(os.path.join(split_dir, f"{on}.json"))
    S = s.idf_cosine()
    m = s.metrics(idf_overlap_exact(s.d))
    want = s.d["idfOverlap"]
    diff = max(abs(m[key] - want[key]) for key in ("hiddenShare", "hitRate", "coverage"))
    if diff > 1e-9:
        sys.exit(f"mpd-references: the IDF-overlap baseline here differs from ours on {on} by {diff:.3g}; the metric or the split is not the same")
    log(f"{on}: {len(s.ids)} corpus playlists, {len(s.d['queries'])} queries, {len(s.vocab)} tracks; IDF overlap {m['hiddenShare']:.4f} equals ours ({time.time() - t0:.1f}s)")
    s.S = S
    splits[on] = s


def topn_rows(S, nn):
    if nn >= S.shape[1]:
        return S
    idx = np.argpartition(-S, nn, axis=1)[:, :nn]
    out = np.zeros_like(S)
    np.put_along_axis(out, idx, np.take_along_axis(S, idx, 1), 1)
    return out


def user_knn(s, nn, alpha):
    W = topn_rows(s.S, nn) ** alpha
    return np.asarray((s.A.T @ W.T).T)


def item_knn(s, gamma):
    An = s.A.multiply(1 / np.sqrt(s.df)[None, :]).tocsr()
    return (s.Q @ (An.T @ An)).toarray() ** gamma


def rp3beta(s, alpha, beta, gamma):
    Ap = s.A.multiply(1 / s.lens[:, None]).tocsr(); Ap.data **= alpha
    At = s.A.T.multiply(1 / s.df[:, None]).tocsr(); At.data **= alpha
    return (((s.Q @ At) @ Ap).toarray() / s.df[None, :] ** beta) ** gamma


_als_cache = {}


def als(s, factors, reg, temp):
    key = (id(s), factors, reg)
    if key not in _als_cache:
        m = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=10.0, iterations=15, random_state=1)
        m.fit(s.A.tocsr().astype(np.float32), show_progress=False)
        U = m.recalculate_user(np.arange(s.Q.shape[0]), s.Q.tocsr().astype(np.float32))
        _als_cache[key] = np.asarray(U @ m.item_factors.T)
    sc = _als_cache[key].copy()
    sc[s.Qd] = -np.inf
    return np.exp((sc - sc.max(1, keepdims=True)) / temp)


def scaled(P):
    return P / np.maximum(P.max(1, keepdims=True), 1e-300)


FAMILIES = {
    "user-kNN (IDF cosine neighbours)": (lambda s, nn, alpha: user_knn(s, nn, alpha), [dict(nn=nn, alpha=al) for nn in (100, 300, 1000) for al in (1, 2, 3)]),
    "item-kNN (cosine)": (lambda s, gamma: item_knn(s, gamma), [dict(gamma=g) for g in (1, 2)]),
    "RP3beta": (lambda s, alpha, beta, gamma: rp3beta(s, alpha, beta, gamma), [dict(alpha=al, beta=b, gamma=g) for al in (0.5, 1) for b in (0, 0.3, 0.5) for g in (1, 2)]),
    "ALS (implicit), folded in": (lambda s, factors, reg, temp: als(s, factors, reg, temp), [dict(factors=f, reg=r, temp=t) for f in (64, 128) for r in (0.1, 1.0) for t in (0.1, 0.2, 0.5)]),
}
LPS = (1.0, 1.1, 1.2)

rows = []
best = {}
for name, (fn, grid) in FAMILIES.items():
    t0 = time.time()
    tried = []
    for params in grid:
        P = fn(splits["validation"], **params)
        for lp in LPS:
            v = splits["validation"].metrics(splits["validation"].top(splits["validation"].expected_share(P, lp)))["hiddenShare"]
            tried.append((v, {**params, "lp": lp}))
    v, params = max(tried, key=lambda x: x[0])
    lp = params["lp"]
    fparams = {k: x for k, x in params.items() if k != "lp"}
    Pt = fn(splits["test"], **fparams)
    t = splits["test"].metrics(splits["test"].top(splits["test"].expected_share(Pt, lp)))
    best[name] = (fn, fparams, lp)
    rows.append({"method": name, "settings": params, "validation": v, "test": t, "tried": len(tried)})
    log(f"{name}: best on validation {v:.4f} with {params} ({len(tried)} tried); test {t['hiddenShare']:.4f} ({time.time() - t0:.0f}s)")

# blend of the best user-kNN and item-kNN
t0 = time.time()
fu, pu, _ = best["user-kNN (IDF cosine neighbours)"]
fi, pi, _ = best["item-kNN (cosine)"]
blend = lambda s, w: scaled(fu(s, **pu)) ** w * scaled(fi(s, **pi)) ** (1 - w)
tried = []
for w in (0.3, 0.5, 0.7):
    P = blend(splits["validation"], w)
    for lp in LPS:
        tried.append((splits["validation"].metrics(splits["validation"].top(splits["validation"].expected_share(P, lp)))["hiddenShare"], {"w_user": w, "lp": lp}))
v, params = max(tried, key=lambda x: x[0])
t = splits["test"].metrics(splits["test"].top(splits["test"].expected_share(blend(splits["test"], params["w_user"]), params["lp"])))
rows.append({"method": "blend: user-kNN x item-kNN (geometric)", "settings": params, "validation": v, "test": t, "tried": len(tried)})
log(f"blend: validation {v:.4f} {params}; test {t['hiddenShare']:.4f} ({time.time() - t0:.0f}s)")


# learned reranker: trained on validation queries, scored on test
def features(s):
    feats = [s.S]
    for name in ("user-kNN (IDF cosine neighbours)", "item-kNN (cosine)", "RP3beta"):
        fn, fp, lp = best[name]
        feats.append(scaled(s.expected_share(fn(s, **fp), lp)))
    known = (s.Q @ s.A.T).toarray()
    feats += [known, known / s.lens[None, :], np.broadcast_to(np.log(s.lens)[None, :], known.shape),
              np.broadcast_to(((s.A @ np.log(s.df)) / s.lens)[None, :], known.shape)]
    return np.stack(feats, -1)


t0 = time.time()
POOL = 300
fv, ft = features(splits["validation"]), features(splits["test"])
def pool(s, F):
    return np.argsort(-(F[..., 1] + F[..., 2]), axis=1, kind="stable")[:, :POOL]
pv, pt = pool(splits["validation"], fv), pool(splits["test"], ft)
X = np.concatenate([fv[q, pv[q]] for q in range(fv.shape[0])])
y = np.concatenate([splits["validation"].share[q, pv[q]] for q in range(fv.shape[0])])
model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, random_state=1).fit(X, y)
scores = np.full(splits["test"].share.shape, -np.inf)
for q in range(ft.shape[0]):
    scores[q, pt[q]] = model.predict(ft[q, pt[q]])
t = splits["test"].metrics(splits["test"].top(scores, np.isfinite(scores)))
# its validation number is in-sample (trained there), so it is left out of the table's validation column
rows.append({"method": "learned reranker (gradient boosting on the features above)", "settings": {"pool": POOL, "trained_on": "validation"}, "validation": None, "test": t, "tried": 1})
log(f"learned reranker: test {t['hiddenShare']:.4f} ({time.time() - t0:.0f}s)")

# the oracle: per query the k corpus playlists with the highest hidden share; an upper bound, not a method
oracle = {}
for on, s in splits.items():
    tops = s.top(s.share)
    known = (s.Q @ s.A.T).toarray()
    disjoint = float(np.mean([(known[q, top] == 0).mean() for q, top in enumerate(tops)]))
    oracle[on] = (s.metrics(tops), disjoint)
rows.append({"method": "oracle: the 10 playlists with the most hidden share (an upper bound, not a method)",
             "settings": {"share of its playlists with no known track (test)": round(oracle["test"][1], 3)},
             "validation": oracle["validation"][0]["hiddenShare"], "test": oracle["test"][0], "tried": 0})
log(f"oracle: validation {oracle['validation'][0]['hiddenShare']:.4f}, test {oracle['test'][0]['hiddenShare']:.4f}; "
    f"{100 * oracle['test'][1]:.0f}% of its test playlists share no track with the known half")

# ours, from our JSON: the two pipeline rows first, the IDF-overlap baseline last
def ours_row(method, label):
    val = next(r for r in ours["validation"]["rows"] if r["method"] == method)["metrics"]["hiddenShare"]
    tst = next(r for r in ours["test"]["rows"] if r["method"] == method)["metrics"]
    return {"method": label, "settings": {"eval mpd flags": a.ours_flags or "defaults"}, "validation": val, "test": tst, "tried": 0}
rows = [ours_row(m, f"ours: {m}") for m in ("pipeline (ppmi-svd)", "pipeline (ppmi-svd) with trained BPR")] + rows
rows.append(ours_row("idf-overlap baseline", "idf-overlap baseline"))
idf_v = splits["validation"].d["idfOverlap"]["hiddenShare"]
idf_t = splits["test"].d["idfOverlap"]["hiddenShare"]

lines = [f"| method | validation hidden share @{splits['test'].k} | test hidden share @{splits['test'].k} | test / IDF overlap | test hit rate | test coverage | settings (chosen on validation) |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
for r in rows:
    v = "–" if r["validation"] is None else f"{r['validation']:.4f}"
    lines.append(f"| {r['method']} | {v} | {r['test']['hiddenShare']:.4f} | {r['test']['hiddenShare'] / idf_t:.2f}x | {r['test']['hitRate']:.4f} | {r['test']['coverage']:.4f} | {', '.join(f'{k} {x}' for k, x in r['settings'].items())} |")
lines.append(f"| target: 1.5 x IDF overlap | {1.5 * idf_v:.4f} | {1.5 * idf_t:.4f} | 1.50x | | | |")
table = "\n".join(lines) + "\n"
print(table)
if a.json:
    json.dump({"protocol": "mpd-a", "playlists": a.playlists, "rows": rows, "idfOverlap": {"validation": idf_v, "test": idf_t},
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, open(a.json, "w"), indent=1, default=float)
    log(f"wrote {a.json}")
if a.markdown:
    open(a.markdown, "w").write(table)
    log(f"wrote {a.markdown}")
