#!/usr/bin/env python3
"""Read a clustersim output directory with outside clients (pyarrow, pandas,
polars, DuckDB) and check every file against the documented contract
(docs/outputs.md): column names and types (text is plain Arrow `string`),
row counts against the manifests, provenance in the Parquet key-value and
Arrow schema metadata, units in the field metadata, that each table's folder
opens as one dataset in every reader, and that the everyday operations of
pyarrow and Arrow-backed pandas work on every table (sort, take, filter,
join, is_in, min_max, CSV; sort, groupby, filter, merge).

Usage: read_outputs.py DIR EXPECTED_RUNS STEPS
Exit status 0 when every check passes; 1 with a message otherwise.
"""
import glob
import json
import os
import sys

import io

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
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
        folder = os.path.join(d, table)
        files = sorted(glob.glob(os.path.join(folder, "*.parquet")))
        if not files:
            fail(f"no {table}/*.parquet in {d}")
        total = 0
        for path in files:
            t = pq.read_table(path)
            got = [(f.name, f.type) for f in t.schema]
            if got != schema:
                fail(f"{path}: schema {got} != documented {schema}")
            kv = {k.decode(): v.decode() for k, v in (pq.read_metadata(path).metadata or {}).items()}
            if kv.get("clustersim.seed") != str(seed) or kv.get("clustersim.config_sha256") != sha:
                fail(f"{path}: provenance metadata {kv} does not match the manifest")
            if "clustersim.version" not in kv:
                fail(f"{path}: no clustersim.version metadata")
            meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
            if meta.get("clustersim.seed") != str(seed) or meta.get("clustersim.table") != table:
                fail(f"{path}: Arrow schema metadata {meta} lacks the provenance")
            total += t.num_rows
        if total != expected_rows[table]:
            fail(f"{table}: {total} rows in files, manifests say {expected_rows[table]}")
        # Every reader opens the table's folder as one dataset.
        whole = pq.read_table(folder)
        if whole.num_rows != total:
            fail(f"{table}: pq.read_table(folder) reads {whole.num_rows} rows, expected {total}")
        if [(f.name, f.type) for f in whole.schema] != schema:
            fail(f"{table}: pq.read_table(folder) schema {whole.schema}")
        if len(pd.read_parquet(folder)) != total:
            fail(f"{table}: pd.read_parquet(folder) reads another row count")
        if pl.read_parquet(folder).height != total:
            fail(f"{table}: pl.read_parquet(folder) reads another row count")
        if pl.scan_parquet(folder).select(pl.len()).collect().item() != total:
            fail(f"{table}: pl.scan_parquet(folder) reads another row count")
        pattern = os.path.join(folder, "*.parquet")
        n = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
        if n != total:
            fail(f"{table}: duckdb reads {n} rows, expected {total}")
        operations(table, whole)
    units = {f.name: (f.metadata or {}).get(b"unit") for f in pq.read_table(os.path.join(d, "region")).schema}
    if units.get("revenue") != b"bn VND/year" or units.get("tax") != b"bn VND" or units.get("run") is not None:
        fail(f"region: field units {units}")
    distinct = con.execute(
        f"SELECT count(DISTINCT run), min(run), max(run) FROM read_parquet('{os.path.join(d, 'runs', '*.parquet')}')"
    ).fetchone()
    if distinct != (runs, 0, runs - 1):
        fail(f"runs table has (distinct, min, max) run = {distinct}, expected ({runs}, 0, {runs - 1})")
    print(f"read_outputs.py: OK: {len(SCHEMAS)} tables, {sum(expected_rows.values())} rows, "
          f"pyarrow {pa.__version__}, pandas {pd.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}")


def operations(table, t):
    """The pyarrow and pandas operations that string_view columns broke."""
    try:
        t.sort_by([("run", "ascending")])
        t.take([0, t.num_rows - 1])
        t.filter(pc.equal(t["run"], 0))
        pc.min_max(t["run"])
        pc.is_in(t["run"], value_set=pa.array([0, 1], pa.int32()))
        texts = [f.name for f in t.schema if f.type == pa.string()]
        for c in texts:
            pc.min_max(t[c])
            t.sort_by([(c, "ascending"), ("run", "ascending")])
            pc.is_in(t[c], value_set=pa.array(["cluster", "operating"]))
        # A join against an ordinary string table, on the text key if any.
        if texts:
            key = texts[0]
            other = pa.table({key: pa.array(sorted(set(t[key].to_pylist()))), "n": pa.array(range(len(set(t[key].to_pylist()))), pa.int64())})
            joined = t.join(other, key)
            if joined.num_rows != t.num_rows:
                fail(f"{table}: join on {key} lost rows")
        else:
            t.join(t.select(["run"]).group_by("run").aggregate([]), "run")
        pacsv.write_csv(t, io.BytesIO())
        df = t.to_pandas(types_mapper=pd.ArrowDtype)
        df.sort_values(list(df.columns[:2]))
        df.groupby("run").size()
        df[df["run"] == 0]
        for c in texts:
            df.sort_values(c)
            df.groupby(c).size()
        df.merge(df[["run"]].drop_duplicates(), on="run")
        if texts:
            df.merge(other.to_pandas(types_mapper=pd.ArrowDtype), on=texts[0])
    except Exception as e:  # noqa: BLE001 - report any reader failure
        fail(f"{table}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
