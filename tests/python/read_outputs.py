#!/usr/bin/env python3
"""Read a clustersim output directory with outside clients (pyarrow, DuckDB)
and check every file against the documented contract (docs/outputs.md):
column names and types, row counts against the manifests, provenance in the
Parquet key-value metadata, and that globbing the part files gives the union.

Usage: read_outputs.py DIR EXPECTED_RUNS STEPS
Exit status 0 when every check passes; 1 with a message otherwise.
"""
import glob
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

I32, I64, U64, F64, B, S = pa.int32(), pa.int64(), pa.uint64(), pa.float64(), pa.bool_(), pa.string()

SUMMARY = [
    "firms", "firms_clusters", "firms_residential", "polluting_residential",
    "employment", "revenue", "tax", "leakage", "waste", "clusters_operating",
    "clusters_complete", "mean_quality", "links", "max_degree",
    "pollution_residential", "pollution_untreated",
]

SCHEMAS = {
    "region": [
        ("run", I32), ("step", I32), ("year", F64), ("firms", I64),
        ("firms_clusters", I64), ("firms_residential", I64),
        ("polluting_residential", I64), ("entries", I64), ("exits", I64),
        ("relocations", I64), ("forced_closures", I64), ("employment", F64),
        ("revenue", F64), ("tax", F64), ("budget", F64), ("spent", F64),
        ("leakage", F64), ("waste", F64), ("clusters_operating", I64),
        ("clusters_complete", I64), ("mean_quality", F64), ("links", I64),
        ("max_degree", I64), ("pollution_residential", F64),
        ("pollution_untreated", F64),
    ],
    "clusters": [
        ("run", I32), ("step", I32), ("cluster", I32), ("status", S),
        ("area_ha", F64), ("occupancy", F64), ("firms", I64),
        ("employment", F64), ("revenue", F64), ("q_roads", F64),
        ("q_utilities", F64), ("q_wastewater", F64), ("q_fire_safety", F64),
        ("q_green", F64), ("connection", F64), ("quality", F64),
        ("complete", B), ("investment", F64), ("links", I64),
        ("labor_pool", F64), ("shortage", F64),
    ],
    "runs": [("run", I32), ("seed", U64), ("steps", I32), ("firm_steps", I64)]
    + [(f"{p}_{c}", F64) for c in SUMMARY for p in ("final", "mean")],
    "sites": [
        ("run", I32), ("kind", S), ("site", I32), ("x", F64), ("y", F64),
        ("area_ha", F64), ("establish_step", I64), ("population", F64),
        ("craft_village", B),
    ],
    "firms": [
        ("run", I32), ("firm", I64), ("sector", I32), ("site_kind", S),
        ("site", I32), ("size", F64), ("productivity", F64), ("polluting", B),
        ("age", I32), ("degree", I32), ("relocated", B),
    ],
}


def fail(msg):
    print(f"read_outputs.py: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    d, runs, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    manifests = sorted(glob.glob(os.path.join(d, "manifest*.json")))
    if not manifests:
        fail(f"no manifest in {d}")
    expected_rows = {}
    for m in manifests:
        with open(m) as f:
            man = json.load(f)
        for key in ["clustersim_version", "config_ron", "config_sha256", "seed", "runs",
                    "shard", "threads", "start_time", "end_time", "wall_seconds", "rows",
                    "command_line", "git_commit", "files"]:
            if key not in man:
                fail(f"{m} has no {key}")
        if man["status"] != "complete":
            fail(f"{m} has status {man['status']}")
        for t, n in man["rows"].items():
            expected_rows[t] = expected_rows.get(t, 0) + n
        seed, sha = man["seed"], man["config_sha256"]
    if expected_rows.get("runs") != runs:
        fail(f"manifests count {expected_rows.get('runs')} runs, expected {runs}")
    if expected_rows.get("region") != runs * (steps + 1):
        fail(f"manifests count {expected_rows.get('region')} region rows, expected {runs * (steps + 1)}")

    con = duckdb.connect()
    for table, schema in SCHEMAS.items():
        files = sorted(glob.glob(os.path.join(d, f"{table}*.parquet")))
        if not files:
            fail(f"no {table}*.parquet in {d}")
        total = 0
        for path in files:
            t = pq.read_table(path)
            # Strings are Parquet UTF8; polars' embedded Arrow schema makes
            # pyarrow >= 16 read them as string_view, older ones as string.
            got = [(f.name, S if f.type == getattr(pa, "string_view", pa.string)() else f.type) for f in t.schema]
            if got != schema:
                fail(f"{path}: schema {got} != documented {schema}")
            kv = {k.decode(): v.decode() for k, v in (pq.read_metadata(path).metadata or {}).items()}
            if kv.get("clustersim.seed") != str(seed) or kv.get("clustersim.config_sha256") != sha:
                fail(f"{path}: provenance metadata {kv} does not match the manifest")
            if "clustersim.version" not in kv:
                fail(f"{path}: no clustersim.version metadata")
            total += t.num_rows
        if total != expected_rows[table]:
            fail(f"{table}: {total} rows in files, manifests say {expected_rows[table]}")
        # The union through a dataset and through DuckDB's glob.
        ds = pq.ParquetDataset(files)
        if ds.read().num_rows != total:
            fail(f"{table}: pyarrow dataset reads {ds.read().num_rows} rows, expected {total}")
        pattern = os.path.join(d, f"{table}*.parquet")
        n = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
        if n != total:
            fail(f"{table}: duckdb reads {n} rows, expected {total}")
    distinct = con.execute(
        f"SELECT count(DISTINCT run), min(run), max(run) FROM read_parquet('{os.path.join(d, 'runs*.parquet')}')"
    ).fetchone()
    if distinct != (runs, 0, runs - 1):
        fail(f"runs table has (distinct, min, max) run = {distinct}, expected ({runs}, 0, {runs - 1})")
    print(f"read_outputs.py: OK: {len(SCHEMAS)} tables, {sum(expected_rows.values())} rows, pyarrow {pa.__version__}, duckdb {duckdb.__version__}")


if __name__ == "__main__":
    main()
