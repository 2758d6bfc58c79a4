//! The Slurm job-array path, end to end on a real single-node Slurm.
//!
//! `job_array_union_equals_single_process_job` starts a throw-away cluster
//! with `scripts/slurm/local-cluster.sh` (munged, slurmctld and slurmd under a
//! private temporary directory, stopped by PID by a drop guard, also when the
//! test fails), submits `scripts/slurm/clustersim-array.sbatch` as an array
//! with non-contiguous task ids under `sbatch --wait`, runs the same runs and
//! seed as one process, and compares every table value for value. It then
//! checks that `clustersim summarize` reads the parts and names a shard whose
//! files are gone. Where Slurm or munge is not installed, or the test does not
//! run as root, it prints "SKIPPED: …" with the reason and returns.
//!
//! The `array_script_*` tests check, without Slurm, how the sbatch script turns
//! the array variables into `--shard PLACE/COUNT` and `--threads`.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use polars::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn array_script() -> PathBuf {
    Path::new(ROOT).join("scripts/slurm/clustersim-array.sbatch")
}

fn harness_script() -> PathBuf {
    Path::new(ROOT).join("scripts/slurm/local-cluster.sh")
}

/// PATH with the sbin directories appended, where Debian puts the daemons.
fn path_with_sbin() -> OsString {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/local/sbin", "/usr/sbin", "/sbin"] {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    std::env::join_paths(dirs).expect("PATH entries contain no separator")
}

fn find_tool(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&path_with_sbin())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The reason the end-to-end test cannot run here, if any.
fn slurm_unavailable() -> Option<String> {
    let tools = [
        "sbatch",
        "scontrol",
        "sinfo",
        "scancel",
        "slurmctld",
        "slurmd",
        "munged",
        "mungekey",
    ];
    let missing: Vec<&str> = tools
        .into_iter()
        .filter(|t| find_tool(t).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "slurm not installed ({} not found on PATH or in /usr/sbin; \
             install Debian's slurmctld slurmd slurm-client munge, as scripts/ci/install-deps.sh does)",
            missing.join(", ")
        ));
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.as_deref() != Some("0") {
        return Some(format!(
            "slurm installed but this test runs as uid {}, and slurmd and munged need root",
            uid.unwrap_or_else(|| "?".into())
        ));
    }
    None
}

fn text(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A private single-node cluster; dropping it stops its daemons by PID (via
/// `local-cluster.sh down`) before the temporary directory is removed.
struct LocalCluster {
    dir: PathBuf,
    conf: PathBuf,
    // Declared last so that it is removed after `drop` has stopped the daemons.
    _tmp: tempfile::TempDir,
}

impl LocalCluster {
    fn start() -> LocalCluster {
        let tmp = tempfile::Builder::new()
            .prefix("clustersim-slurm-")
            .tempdir()
            .expect("create a temporary directory");
        // munged needs every parent of its socket to be searchable by others.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the temporary directory");
        let dir = tmp.path().join("cluster");
        // Slurm fails a job whose --output directory does not exist.
        std::fs::create_dir(tmp.path().join("logs")).expect("create the job log directory");
        let cluster = LocalCluster {
            conf: dir.join("slurm.conf"),
            dir,
            _tmp: tmp,
        };
        // The guard exists before `up`, so a half-started cluster is stopped too.
        let out = Command::new("bash")
            .arg(harness_script())
            .arg("up")
            .arg(&cluster.dir)
            .env("PATH", path_with_sbin())
            .output()
            .expect("run local-cluster.sh up");
        assert!(
            out.status.success(),
            "local-cluster.sh up failed:\n{}",
            text(&out)
        );
        cluster
    }

    fn work(&self) -> &Path {
        self._tmp.path()
    }

    /// A Slurm client command pointed at this cluster.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", path_with_sbin())
            .env("SLURM_CONF", &self.conf)
            .current_dir(self.work());
        cmd
    }

    /// Every job log (the tasks' logs in each output directory's `logs/`,
    /// and anything Slurm itself wrote), for a failure message.
    fn job_logs(&self) -> String {
        let mut all = String::new();
        let mut paths: Vec<PathBuf> = Vec::new();
        for dir in ["logs", "sharded/logs", "single/logs"] {
            if let Ok(entries) = std::fs::read_dir(self.work().join(dir)) {
                paths.extend(entries.flatten().map(|e| e.path()));
            }
        }
        paths.sort();
        {
            for p in paths {
                all += &format!(
                    "--- {}\n{}",
                    p.display(),
                    std::fs::read_to_string(&p).unwrap_or_default()
                );
            }
        }
        all
    }

    /// Submit with `sbatch --wait`, with `clustersim` as the binary the job
    /// runs and the script's own log placement (no `--output`).
    fn sbatch_wait_raw(&self, clustersim: &Path, args: &[&str]) -> Output {
        self.command("sbatch")
            .env("CLUSTERSIM", clustersim)
            .arg("--wait")
            .args(args)
            .output()
            .expect("run sbatch")
    }

    /// Submit with `sbatch --wait` and panic with the job logs unless it succeeded.
    fn sbatch_wait(&self, args: &[&str]) -> Output {
        let out = self.sbatch_wait_raw(Path::new(BIN), args);
        assert!(
            out.status.success(),
            "sbatch {args:?} failed:\n{}\njob logs:\n{}",
            text(&out),
            self.job_logs()
        );
        out
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(harness_script())
            .arg("down")
            .arg(&self.dir)
            .env("PATH", path_with_sbin())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!("local-cluster.sh down failed:\n{}", text(&o)),
            Err(e) => eprintln!("local-cluster.sh down could not run: {e}"),
        }
    }
}

/// All rows of `table` in `dir` (every `table/*.parquet` file), sorted by the
/// key columns that it has.
fn read_table(dir: &Path, table: &str) -> DataFrame {
    let glob = dir.join(table).join("*.parquet");
    let glob = PlRefPath::new(glob.to_str().expect("a UTF-8 temporary path"));
    let df = LazyFrame::scan_parquet(glob, ScanArgsParquet::default())
        .and_then(|lf| lf.collect())
        .unwrap_or_else(|e| panic!("read {table}/*.parquet in {}: {e}", dir.display()));
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let keys: Vec<&str> = ["run", "step", "cluster", "firm"]
        .into_iter()
        .filter(|k| names.iter().any(|n| n == k))
        .collect();
    assert!(
        keys.first() == Some(&"run"),
        "{table} has no run column: {names:?}"
    );
    df.sort(keys, SortMultipleOptions::default())
        .unwrap_or_else(|e| panic!("sort {table}: {e}"))
}

/// The table names (`region`, …) whose folders in `dir` hold Parquet files.
fn tables_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = file_names(dir)
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .filter_map(|f| f.split_once('/').map(|(t, _)| t.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every visible file in `dir` and its folders, as `name` or `folder/name`.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            for inner in std::fs::read_dir(e.path()).unwrap().flatten() {
                let n = inner.file_name().to_string_lossy().into_owned();
                if !n.starts_with('.') {
                    names.push(format!("{name}/{n}"));
                }
            }
        } else {
            names.push(name);
        }
    }
    names.sort();
    names
}

fn summarize(dir: &Path) -> Output {
    Command::new(BIN)
        .arg("summarize")
        .arg(dir)
        .output()
        .expect("run clustersim summarize")
}

const RUNS: u32 = 8;
const SEED: &str = "2021";
/// Non-contiguous task ids: the shard must be the task's place, not its id.
const IDS: &str = "1,3,5,7";
const SHARDS: u32 = 4;

#[test]
fn job_array_union_equals_single_process_job() {
    if let Some(reason) = slurm_unavailable() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let config = Path::new(ROOT).join("configs/small.ron");
    assert!(config.is_file(), "{} is missing", config.display());
    let config = config.to_str().expect("a UTF-8 path").to_string();
    let started = Instant::now();

    let cluster = LocalCluster::start();
    let sharded = cluster.work().join("sharded");
    let single = cluster.work().join("single");
    let runs = RUNS.to_string();
    let script = array_script();
    let script = script.to_str().expect("a UTF-8 path");

    // The array: one task per shard, the id list passed on with --ids. The
    // task of shard 1 (id 3) fails at once, as a crashed or killed task would:
    // `sbatch --wait` reports it, and `summarize` names the shard.
    let failing = cluster.work().join("clustersim-failing-shard-1");
    std::fs::write(
        &failing,
        format!(
            "#!/bin/sh\ncase \" $* \" in *' --shard 1/{SHARDS} '*) echo 'simulated failure' >&2; exit 3;; esac\nexec {BIN} \"$@\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    let array_args = |array: &str| -> Vec<String> {
        [
            &format!("--array={array}"),
            "--cpus-per-task=1",
            "--job-name=array",
            script,
            "--ids",
            IDS,
            &config,
            sharded.to_str().unwrap(),
            &runs,
            SEED,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let args = array_args(IDS);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cluster.sbatch_wait_raw(&failing, &args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "sbatch --wait gives the failed task's exit code:\n{}\n{}",
        text(&out),
        cluster.job_logs()
    );
    let out = summarize(&sharded);
    let said = text(&out);
    assert!(
        said.contains("missing") && said.contains(&format!("1/{SHARDS}")),
        "summarize should name the failed shard 1/{SHARDS}:\n{said}"
    );

    // Rerun only the failed task (id 3): --ids keeps it shard 1 of 4.
    let args = array_args("3");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cluster.sbatch_wait(&args);

    // The same runs and seed as one process (the script outside an array).
    cluster.sbatch_wait(&[
        "--cpus-per-task=2",
        "--job-name=single",
        script,
        &config,
        single.to_str().unwrap(),
        &runs,
        SEED,
    ]);
    let logs = cluster.job_logs();
    for (place, id) in IDS.split(',').enumerate() {
        assert!(
            logs.contains(&format!("task id {id} is shard {place}/{SHARDS}")),
            "task {id} should be shard {place}/{SHARDS}:\n{logs}"
        );
    }
    assert_eq!(
        logs.matches(&format!("task id 3 is shard 1/{SHARDS}"))
            .count(),
        2,
        "task 3 ran twice:\n{logs}"
    );
    assert!(logs.contains("one process, all runs, 2 threads"), "{logs}");
    // The task logs are in the output directories, none in the submit directory.
    let task_logs: Vec<String> = file_names(&sharded)
        .into_iter()
        .filter(|f| f.starts_with("logs/clustersim-") && f.ends_with(".out"))
        .collect();
    assert_eq!(task_logs.len(), 5, "4 tasks and 1 rerun: {task_logs:?}");
    assert!(
        file_names(&single)
            .iter()
            .any(|f| f.starts_with("logs/clustersim-")),
        "{:?}",
        file_names(&single)
    );
    let stray: Vec<String> = file_names(cluster.work())
        .into_iter()
        .filter(|f| !f.contains('/') && (f.ends_with(".out") || f.ends_with(".err")))
        .collect();
    assert!(stray.is_empty(), "logs in the submit directory: {stray:?}");

    // Every shard wrote its manifest and its part of every table.
    let sharded_files = file_names(&sharded);
    for place in 0..SHARDS {
        let tag = format!("part-{place:04}-of-{SHARDS:04}");
        assert!(
            sharded_files.contains(&format!("manifest-{tag}.json")),
            "no manifest for shard {place}: {sharded_files:?}"
        );
        for table in ["region", "clusters", "runs"] {
            assert!(
                sharded_files
                    .iter()
                    .any(|f| f.starts_with(&format!("{table}/{tag}")) && f.ends_with(".parquet")),
                "no {table} part for shard {place}: {sharded_files:?}"
            );
        }
    }

    // The union of the shards equals the single-process job, value for value.
    let tables = tables_in(&single);
    for t in ["region", "clusters", "runs"] {
        assert!(
            tables.iter().any(|n| n == t),
            "single job wrote no {t} table: {tables:?}"
        );
    }
    assert_eq!(tables_in(&sharded), tables, "the same tables");
    for table in &tables {
        let one = read_table(&single, table);
        let union = read_table(&sharded, table);
        assert!(one.height() > 0, "{table} is empty");
        assert_eq!(one.schema(), union.schema(), "{table}: schemas differ");
        assert!(
            one.equals_missing(&union),
            "{table}: the union of the shards differs from the single job\nsingle:\n{one}\nunion:\n{union}"
        );
        let runs_seen = one
            .column("run")
            .and_then(|c| c.as_materialized_series().n_unique())
            .expect("count runs");
        assert_eq!(runs_seen, RUNS as usize, "{table} holds every run");
    }

    // summarize reads every part and finds nothing missing.
    let out = summarize(&sharded);
    let said = text(&out);
    assert!(out.status.success(), "summarize over all shards:\n{said}");
    assert!(!said.contains("missing"), "nothing is missing:\n{said}");

    // A shard whose files are gone (a failed or lost task) is named.
    let broken = cluster.work().join("broken");
    std::fs::create_dir(&broken).unwrap();
    let lost = format!("part-0002-of-{SHARDS:04}");
    for name in &sharded_files {
        if !name.contains(&lost) {
            let to = broken.join(name);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(sharded.join(name), to).unwrap();
        }
    }
    let out = summarize(&broken);
    let said = text(&out);
    assert!(
        said.contains("missing") && (said.contains(&lost) || said.contains(&format!("2/{SHARDS}"))),
        "summarize should name the missing shard {lost}:\n{said}"
    );

    drop(cluster);
    let secs = started.elapsed().as_secs_f64();
    // About 12 s alone on 2 cores; the bound leaves room for the other tests
    // that share the cores, and catches a slow-polling set-up (sbatch --wait
    // without MinJobAge and sched_min_interval waits about 10 s per job).
    eprintln!("slurm end-to-end: {secs:.1} s");
    assert!(secs < 90.0, "the Slurm test took {secs:.1} s");
}

/// Run the sbatch script directly with `env` as the array variables and
/// `echo` as clustersim: its stdout is the command line a task would run.
fn script_with(env: &[(&str, &str)], args: &[&str]) -> Output {
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(array_script()).args(args).env("CLUSTERSIM", "echo");
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_MAX",
        "SLURM_ARRAY_TASK_STEP",
        "SLURM_ARRAY_JOB_ID",
        "SLURM_CPUS_PER_TASK",
        "SLURM_CPUS_ON_NODE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.current_dir(out_dir.path());
    cmd.output().expect("run bash")
}

fn task(id: &str, count: &str, min: &str, max: &str, step: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SLURM_ARRAY_TASK_ID", id.into()),
        ("SLURM_ARRAY_TASK_COUNT", count.into()),
        ("SLURM_ARRAY_TASK_MIN", min.into()),
        ("SLURM_ARRAY_TASK_MAX", max.into()),
        ("SLURM_ARRAY_TASK_STEP", step.into()),
    ]
}

fn command_line(env: &[(&'static str, String)], args: &[&str]) -> String {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = script_with(&env, args);
    assert!(
        out.status.success(),
        "script {args:?} {env:?}:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const JOB: [&str; 4] = ["c.ron", "out", "8", "2021"];

#[test]
fn array_script_place_of_an_evenly_spaced_array() {
    // --array=0-7: the id is the place.
    let line = command_line(&task("5", "8", "0", "7", "1"), &JOB);
    assert_eq!(
        line,
        "run c.ron --runs 8 --seed 2021 --out out --quiet --threads 1 --shard 5/8 --resume"
    );
    // --array=1-7:2 is 1,3,5,7: task 5 is the third.
    let line = command_line(&task("5", "4", "1", "7", "2"), &JOB);
    assert!(line.ends_with("--shard 2/4 --resume"), "{line}");
}

#[test]
fn array_script_place_of_a_listed_array_comes_from_ids() {
    // --array=1,3,5,7: Slurm says step 1, so the list must be given.
    let line = command_line(
        &task("5", "4", "1", "7", "1"),
        &["--ids", "1,3,5,7", "c.ron", "out", "8", "2021"],
    );
    assert!(line.ends_with("--shard 2/4 --resume"), "{line}");
    // Ranges, steps and a throttle in the list: 0,1,2,3,8,10,12 → 12 is the last.
    let line = command_line(
        &task("12", "7", "0", "12", "1"),
        &["--ids=0-3,8-12:2%2", "c.ron", "out", "8", "2021"],
    );
    assert!(line.ends_with("--shard 6/7 --resume"), "{line}");
}

#[test]
fn array_script_reruns_a_subset_of_the_ids_as_the_same_shards() {
    // Shards 2 and 5 of an --array=0-7 job again: --array=2,5 with --ids 0-7.
    let line = command_line(
        &task("5", "2", "2", "5", "1"),
        &["--ids", "0-7", "c.ron", "out", "8", "2021"],
    );
    assert!(line.ends_with("--shard 5/8 --resume"), "{line}");
    // --force in the extra options replaces --resume.
    let line = command_line(
        &task("5", "2", "2", "5", "1"),
        &["--ids", "0-7", "c.ron", "out", "8", "2021", "--force"],
    );
    assert!(line.ends_with("--shard 5/8 --force"), "{line}");
}

#[test]
fn array_script_refuses_an_uneven_array_without_ids_and_a_wrong_list() {
    let env = task("5", "4", "1", "7", "1");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = script_with(&env, &JOB);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ids"),
        "{}",
        text(&out)
    );
    assert!(out.stdout.is_empty(), "nothing was run: {}", text(&out));

    let out = script_with(&env, &["--ids", "1,3,5", "c.ron", "out", "8", "2021"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 ids but the array has 4 tasks"),
        "{}",
        text(&out)
    );
}

#[test]
fn array_script_threads_and_the_non_array_case() {
    let mut env = task("0", "2", "0", "1", "1");
    env.push(("SLURM_CPUS_PER_TASK", "4".into()));
    let line = command_line(&env, &["c.ron", "out", "8", "2021", "--firms"]);
    assert_eq!(
        line,
        "run c.ron --runs 8 --seed 2021 --out out --quiet --threads 4 --shard 0/2 --resume --firms"
    );
    // Outside an array: one process with every run, no --shard.
    let line = command_line(&[("SLURM_CPUS_ON_NODE", "3".into())], &JOB);
    assert_eq!(
        line,
        "run c.ron --runs 8 --seed 2021 --out out --quiet --threads 3 --resume"
    );
    let out = script_with(&[], &["c.ron", "out", "eight", "2021"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
