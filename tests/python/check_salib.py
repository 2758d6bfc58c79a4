#!/usr/bin/env python3
"""Check a `clustersim sensitivity` directory against SALib.

Usage: check_salib.py OUT_DIR

Reads design.parquet, points.parquet, sensitivity.parquet and
sensitivity.json with pyarrow, runs SALib's `morris.analyze` or
`sobol.analyze` on our design and our point outcomes (replicate means), and
checks that SALib's indices equal ours (same estimators: to 1e-9) and that
our bootstrap confs lie within the spread of SALib's over 8 bootstrap seeds
(widened to 0.6 × min .. 1.6 × max: the resampling is independent, and with few base
samples the bootstrap is heavy-tailed, so one SALib seed is no reference).
Outcomes that are constant or not finite over the design are skipped.
Prints "OK: …" and exits 0, or prints every mismatch and exits 1.
"""

import json
import math
import sys
import warnings

import numpy as np
import pyarrow.parquet as pq
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze


def close(ours, theirs, atol, rtol):
    if math.isnan(ours) and math.isnan(theirs):
        return True
    return abs(ours - theirs) <= atol + rtol * max(abs(ours), abs(theirs))


SEEDS = range(1, 9)


def conf_ok(ours, theirs):
    """`ours` within the spread of SALib's confs over SEEDS, widened to 0.6 × min .. 1.6 × max."""
    theirs = [t for t in theirs if math.isfinite(t)]
    if not theirs:
        return not math.isfinite(ours)
    lo, hi = min(theirs), max(theirs)
    return 0.6 * lo - 1e-12 <= ours <= 1.6 * hi + 1e-12


def main(out):
    manifest = json.load(open(f"{out}/sensitivity.json"))
    s = manifest["settings"]
    names = [p["path"] for p in s["params"]]
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [[p["lo"], p["hi"]] for p in s["params"]],
    }
    table = pq.read_table(f"{out}/design.parquet")
    # Columns are SQL-safe names; clustersim.factors maps them to the paths.
    factors = json.loads(table.schema.metadata[b"clustersim.factors"])
    column = {path: name for name, path in factors.items()}
    design = table.to_pydict()
    order = np.argsort(design["point"])
    X = np.array([[float(design[column[n]][i]) for n in names] for i in order])
    points = pq.read_table(f"{out}/points.parquet").to_pydict()
    ours = pq.read_table(f"{out}/sensitivity.parquet").to_pylist()

    by_outcome = {}
    for p, o, m in zip(points["point"], points["outcome"], points["mean"]):
        by_outcome.setdefault(o, {})[int(p)] = m
    errors, compared = [], 0
    for outcome, means in by_outcome.items():
        Y = np.array([means[i] for i in range(len(means))], dtype=float)
        if not np.all(np.isfinite(Y)) or np.ptp(Y) == 0:
            continue
        rows = {(r["parameter"], r["parameter2"], r["index"]): r for r in ours if r["outcome"] == outcome}
        scale = max(1.0, float(np.max(np.abs(Y))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if s["method"] == "morris":
                runs = [
                    morris_analyze.analyze(
                        problem, X, Y, num_resamples=s["resamples"], num_levels=s["levels"], seed=seed
                    )
                    for seed in SEEDS
                ]
                checks = [("mu", "mu", None), ("mu_star", "mu_star", "mu_star_conf"), ("sigma", "sigma", None)]
                # Effects are per unit step: scale with Y over the delta.
                atol = 1e-9 * scale * s["levels"]
            else:
                runs = [
                    sobol_analyze.analyze(
                        problem,
                        Y,
                        calc_second_order=s["second_order"],
                        num_resamples=s["resamples"],
                        seed=seed,
                    )
                    for seed in SEEDS
                ]
                checks = [("S1", "S1", "S1_conf"), ("ST", "ST", "ST_conf")]
                atol = 1e-9
        si = runs[0]
        for j, name in enumerate(names):
            for index, key, conf_key in checks:
                r = rows.get((name, None, index))
                if r is None:
                    errors.append(f"{outcome} {name} {index}: missing from sensitivity.parquet")
                    continue
                theirs = float(si[key][j])
                if not close(r["value"], theirs, atol, 1e-9):
                    errors.append(f"{outcome} {name} {index}: ours {r['value']!r}, SALib {theirs!r}")
                if conf_key is not None:
                    tc = [float(x[conf_key][j]) for x in runs]
                    if not conf_ok(r["conf"], tc):
                        errors.append(f"{outcome} {name} {conf_key}: ours {r['conf']!r}, SALib {tc!r}")
        if s["method"] == "sobol" and s["second_order"]:
            for j in range(len(names)):
                for k in range(j + 1, len(names)):
                    r = rows.get((names[j], names[k], "S2"))
                    theirs = float(si["S2"][j][k])
                    if r is None or not close(r["value"], theirs, 1e-9, 1e-9):
                        errors.append(f"{outcome} S2[{names[j]},{names[k]}]: ours {r and r['value']!r}, SALib {theirs!r}")
                    elif not conf_ok(r["conf"], [float(x["S2_conf"][j][k]) for x in runs]):
                        errors.append(f"{outcome} S2_conf[{j},{k}]: ours {r['conf']!r}")
        compared += 1
    if compared == 0:
        errors.append("no outcome varies over the design: nothing was compared")
    if errors:
        print("\n".join(errors))
        return 1
    print(f"OK: SALib {s['method']}.analyze agrees on {compared} outcome(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
