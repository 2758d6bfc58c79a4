#!/usr/bin/env python3
"""Read a clustersim output directory with outside clients (pyarrow, pandas,
polars, DuckDB) and check every file against the documented contract
(docs/outputs.md): column names and types (text is plain Arrow `string`),
row counts against the manifests, provenance in the Parquet key-value and
Arrow schema metadata, units in the field metadata, that each table's folder
opens as one dataset in every reader, and that the everyday operations of
pyarrow and Arrow-backed pandas work on every table (sort, take, filter,
join, is_in, min_max, CSV; sort, groupby, filter, merge).

Usage: read_outputs.py [run] DIR EXPECTED_RUNS STEPS
       read_outputs.py compare DIR EXPECTED_RUNS STEPS SCENARIO...
       read_outputs.py sweep DIR EXPECTED_RUNS STEPS

A compare directory holds one run directory per scenario, each of whose
tables must start with `scenario` (string, the directory's name), beside
comparison.parquet; a sweep directory one run directory per design point
(point-PPPP), whose tables must start with `point` and the swept parameters
as typed columns equal to design.parquet's row. Both are also read as one
tidy table over all scenarios or points (DuckDB `DIR/*/TABLE/*.parquet`,
pyarrow and pandas joins on the scenario or point), and DIR/csv/ (written
by `clustersim export`) must hold the same rows.
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
        ("run", I32), ("firm", I64), ("sector", I32), ("sector_name", S), ("site_kind", S),
        ("site", I32), ("size", F64), ("productivity", F64), ("polluting", B),
        ("age", I32), ("degree", I32), ("relocated", B),
    ],
}


def fail(msg):
    print(f"read_outputs.py: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args and args[0] in ("run", "compare", "sweep") else "run"
    if len(args) < 3 or (mode != "compare" and len(args) != 3):
        fail(__doc__)
    d, runs, steps = args[0], int(args[1]), int(args[2])
    if mode == "run":
        rows = check_run_dir(d, runs, steps, [], {})
        print(f"read_outputs.py: OK: {len(SCHEMAS)} tables, {sum(rows.values())} rows, "
              f"pyarrow {pa.__version__}, pandas {pd.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}")
    elif mode == "compare":
        check_compare(d, runs, steps, args[3:])
    else:
        check_sweep(d, runs, steps)


def check_run_dir(d, runs, steps, prefix, constants):
    """Check one run directory; `prefix` are the (name, type) columns every
    table starts with, `constants` their expected value. Returns the rows per
    table."""
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
        if table not in expected_rows:
            continue  # not written by this job (compare and sweep write no firms)
        schema = prefix + schema
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
        n = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()[0][0]
        if n != total:
            fail(f"{table}: duckdb reads {n} rows, expected {total}")
        for c, v in constants.items():
            got = pc.unique(whole[c]).to_pylist()
            if got != [v]:
                fail(f"{folder}: column {c} holds {got}, expected only {v!r}")
        if table == "firms":
            pairs = whole.group_by(["sector", "sector_name"]).aggregate([])
            if pairs.num_rows != len(pc.unique(whole["sector"])) or "" in pairs["sector_name"].to_pylist():
                fail(f"firms: sector names {pairs.to_pylist()} do not name each sector once")
        operations(table, whole)
    units = {f.name: (f.metadata or {}).get(b"unit") for f in pq.read_table(os.path.join(d, "region")).schema}
    if units.get("revenue") != b"bn VND/year" or units.get("tax") != b"bn VND" or units.get("run") is not None:
        fail(f"region: field units {units}")
    distinct = con.execute(
        f"SELECT count(DISTINCT run), min(run), max(run) FROM read_parquet('{os.path.join(d, 'runs', '*.parquet')}')"
    ).fetchall()[0]
    if distinct != (runs, 0, runs - 1):
        fail(f"runs table has (distinct, min, max) run = {distinct}, expected ({runs}, 0, {runs - 1})")
    return expected_rows


COMPARISON = [
    ("scenario", S), ("outcome", S), ("n", pa.uint32()), ("mean", F64), ("lo", F64),
    ("hi", F64), ("diff", F64), ("diff_lo", F64), ("diff_hi", F64), ("excludes_zero", B),
]


def check_top_file(path, table, schema, keys):
    """A comparison.parquet or design.parquet: schema, provenance (key-value
    and Arrow schema metadata), and the everyday operations."""
    t = pq.read_table(path)
    got = [(f.name, f.type) for f in t.schema]
    if got != schema:
        fail(f"{path}: schema {got} != documented {schema}")
    kv = {k.decode(): v.decode() for k, v in (pq.read_metadata(path).metadata or {}).items()}
    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    for k in ["clustersim.version", "clustersim.cargo_lock_sha256", "clustersim.platform",
              "clustersim.seed", "clustersim.runs"] + keys:
        if k not in kv or kv.get(k) != meta.get(k):
            fail(f"{path}: provenance {k} missing or different in the key-value ({kv.get(k)}) "
                 f"and Arrow schema ({meta.get(k)}) metadata")
    if meta.get("clustersim.table") != table:
        fail(f"{path}: clustersim.table is {meta.get('clustersim.table')}, expected {table}")
    operations(table, t, key="scenario" if table == "comparison" else "point")
    return t, meta


def stacked(con, d, table, total):
    """The table of every run directory under d as one: DuckDB over
    DIR/*/TABLE/*.parquet and polars over the same glob."""
    pattern = os.path.join(d, "*", table, "*.parquet")
    n = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()[0][0]
    if n != total:
        fail(f"duckdb {pattern}: {n} rows, expected {total}")
    if pl.read_parquet(pattern).height != total:
        fail(f"polars {pattern}: another row count than {total}")
    return pattern


def check_csv(d, table, whole):
    """DIR/csv/TABLE.csv (clustersim export) holds the same rows and columns."""
    path = os.path.join(d, "csv", f"{table}.csv")
    if not os.path.isfile(path):
        fail(f"no {path} (run clustersim export {d})")
    df = pd.read_csv(path)
    if list(df.columns) != whole.column_names or len(df) != whole.num_rows:
        fail(f"{path}: columns {list(df.columns)} / {len(df)} rows differ from the Parquet "
             f"{whole.column_names} / {whole.num_rows}")
    return df


def check_compare(d, runs, steps, scenarios):
    if not scenarios:
        fail("compare: name the scenarios")
    con = duckdb.connect()
    totals, by_scenario = {}, {}
    for name in scenarios:
        sub = os.path.join(d, name)
        rows = check_run_dir(sub, runs, steps, [("scenario", S)], {"scenario": name})
        by_scenario[name] = rows
        for t, n in rows.items():
            totals[t] = totals.get(t, 0) + n
    comparison, meta = check_top_file(
        os.path.join(d, "comparison.parquet"), "comparison", COMPARISON,
        ["clustersim.scenarios"] + [f"clustersim.config_sha256.{n}" for n in scenarios])
    if json.loads(meta["clustersim.scenarios"]) != scenarios:
        fail(f"comparison: clustersim.scenarios {meta['clustersim.scenarios']} != {scenarios}")
    for n in scenarios:
        with open(os.path.join(d, n, "manifest.json")) as f:
            sha = json.load(f)["config_sha256"]
        if meta[f"clustersim.config_sha256.{n}"] != sha:
            fail(f"comparison: config hash of {n} differs from its manifest")
    # Tidy: every table of every scenario stacks into one, keyed by scenario.
    for table, total in totals.items():
        pattern = stacked(con, d, table, total)
        per = dict(con.execute(
            f"SELECT scenario, count(*) FROM read_parquet('{pattern}') GROUP BY scenario").fetchall())
        if per != {n: by_scenario[n][table] for n in scenarios}:
            fail(f"{table}: rows per scenario {per}")
        whole = pa.concat_tables([pq.read_table(os.path.join(d, n, table)) for n in scenarios])
        operations(table, whole, key="scenario")
        if pc.sum(pc.is_in(whole["scenario"], value_set=pa.array(scenarios[1:]))).as_py() != total - by_scenario[scenarios[0]][table]:
            fail(f"{table}: is_in on scenario selects the wrong rows")
        check_csv(d, table, whole)
    # The comparison joins the runs table on scenario, in pyarrow and pandas.
    runs_all = pa.concat_tables([pq.read_table(os.path.join(d, n, "runs")) for n in scenarios])
    base = comparison.filter(pc.equal(comparison["outcome"], "final_tax")).select(["scenario", "mean"])
    joined = runs_all.join(base, "scenario")
    if joined.num_rows != runs_all.num_rows:
        fail("runs ⋈ comparison on scenario lost rows")
    for n in scenarios:
        mine = joined.filter(pc.equal(joined["scenario"], n))
        if abs(pc.mean(mine["final_tax"]).as_py() - mine["mean"][0].as_py()) > 1e-9 * max(1.0, abs(mine["mean"][0].as_py())):
            fail(f"comparison mean of final_tax for {n} is not the mean of its runs")
    a = runs_all.to_pandas(types_mapper=pd.ArrowDtype)
    b = base.to_pandas(types_mapper=pd.ArrowDtype)
    m = a.merge(b, on="scenario").sort_values(["scenario", "run"])
    if len(m) != len(a) or m.groupby("scenario").size().to_dict() != {n: runs for n in scenarios}:
        fail("pandas merge of runs and comparison on scenario")
    check_csv(d, "comparison", comparison)
    print(f"read_outputs.py: OK: compare, {len(scenarios)} scenarios, {sum(totals.values())} rows")


def check_sweep(d, runs, steps):
    con = duckdb.connect()
    design_path = os.path.join(d, "design.parquet")
    design = pq.read_table(design_path)
    factors = [(f.name, f.type) for f in design.schema][1:]
    if not factors:
        fail("design.parquet has no factor column")
    schema = [("point", F64)] + factors
    design, meta = check_top_file(design_path, "design", schema,
                                  ["clustersim.factors", "clustersim.config_sha256"])
    paths = json.loads(meta["clustersim.factors"])
    for name, _ in factors:
        if not all(c.isalnum() or c == "_" for c in name) or name not in paths:
            fail(f"design column {name} is not SQL-safe or not in clustersim.factors {paths}")
        if paths[name].replace(".", "__") != name:
            fail(f"design column {name} is not the path {paths[name]} with . as __")
    rows = design.to_pylist()
    totals = {}
    for row in rows:
        p = int(row["point"])
        sub = os.path.join(d, f"point-{p:04d}")
        rows_p = check_run_dir(sub, runs, steps, schema, row)
        for t, n in rows_p.items():
            totals[t] = totals.get(t, 0) + n
    names = [n for n, _ in factors]
    for table, total in totals.items():
        pattern = stacked(con, d, table, total)
        # SQL without quoting: the factor columns join the design on point.
        con.register("design", design)
        on = " AND ".join(["t.point = d.point"] + [f"t.{n} = d.{n}" for n in names])
        n = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}') t JOIN design d ON {on}").fetchall()[0][0]
        if n != total:
            fail(f"{table}: {n} of {total} rows join the design on point and every factor")
        whole = pa.concat_tables([pq.read_table(os.path.join(d, f"point-{int(r['point']):04d}", table)) for r in rows])
        operations(table, whole, key="point")
        for name, typ in factors:
            lo, hi = pc.min_max(whole[name]).values() if typ != pa.string() else (None, None)
            if typ != pa.string() and typ != pa.bool_():
                want = [r[name] for r in rows]
                if (lo.as_py(), hi.as_py()) != (min(want), max(want)):
                    fail(f"{table}: {name} ranges over {lo}..{hi}, the design over {min(want)}..{max(want)}")
        check_csv(d, table, whole)
    runs_all = pa.concat_tables([pq.read_table(os.path.join(d, f"point-{int(r['point']):04d}", "runs")) for r in rows])
    joined = runs_all.select(["point", "run", "final_tax"]).join(design, "point")
    if joined.num_rows != runs_all.num_rows:
        fail("runs ⋈ design on point lost rows")
    a = runs_all.to_pandas(types_mapper=pd.ArrowDtype)
    m = a[["point", "run"]].merge(design.to_pandas(types_mapper=pd.ArrowDtype), on="point")
    if len(m) != len(a):
        fail("pandas merge of runs and design on point")
    g = a.groupby(names[0]).size()
    if g.sum() != len(a):
        fail(f"pandas groupby {names[0]}")
    check_csv(d, "design", design)
    print(f"read_outputs.py: OK: sweep, {len(rows)} points, factors {names}, {sum(totals.values())} rows")


def operations(table, t, key="run"):
    """The pyarrow and pandas operations that string_view columns broke, with
    `key` as the numeric or text key (run, point or scenario)."""
    try:
        if key not in t.column_names:
            key = "run"
        first = t[key][0].as_py()
        t.sort_by([(key, "ascending")])
        t.take([0, t.num_rows - 1])
        if t.filter(pc.equal(t[key], first)).num_rows < 1:
            fail(f"{table}: filter on {key} = {first!r} selects nothing")
        pc.min_max(t[key])
        pc.is_in(t[key], value_set=pa.array([first], t.schema.field(key).type))
        texts = [f.name for f in t.schema if f.type == pa.string()]
        for c in texts:
            pc.min_max(t[c])
            t.sort_by([(c, "ascending"), (key, "ascending")])
            pc.is_in(t[c], value_set=pa.array(["cluster", "operating"]))
        # A join against an ordinary string table, on the text key if any.
        if texts:
            key = texts[0]
            other = pa.table({key: pa.array(sorted(set(t[key].to_pylist()))), "n": pa.array(range(len(set(t[key].to_pylist()))), pa.int64())})
            joined = t.join(other, key)
            if joined.num_rows != t.num_rows:
                fail(f"{table}: join on {key} lost rows")
        else:
            t.join(t.select([key]).group_by(key).aggregate([]), key)
        pacsv.write_csv(t, io.BytesIO())
        df = t.to_pandas(types_mapper=pd.ArrowDtype)
        df.sort_values(list(df.columns[:2]))
        df.groupby(key).size()
        df[df[key] == first]
        for c in texts:
            df.sort_values(c)
            df.groupby(c).size()
        df.merge(df[[key]].drop_duplicates(), on=key)
        if texts:
            df.merge(other.to_pandas(types_mapper=pd.ArrowDtype), on=texts[0])
    except Exception as e:  # noqa: BLE001 - report any reader failure
        fail(f"{table}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
