//! `oml-train` under `mpirun` (feature `mpi`, Open MPI from scripts/setup.sh): two ranks on
//! this machine train like one process with two devices, only rank 0 writes, a killed rank
//! stops the job, and the run resumes under mpirun.
#![cfg(feature = "mpi")]
#![allow(clippy::unwrap_used)]

mod common;
use common::stderr;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The tiny emoji recipe of cli_train.rs, `epochs` epochs into `run_dir`, without the
/// validation before training.
fn tiny_args(run_dir: &Path, epochs: u64) -> Vec<String> {
    let mut args = common::tiny_train_args(run_dir, epochs);
    args.extend(["--set".to_owned(), "valid_before_training=false".to_owned()]);
    args
}

/// `mpirun -np RANKS oml-train ARGS` on this machine.
fn mpirun(ranks: usize, args: &[String]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "--bind-to", "none", "-np", &ranks.to_string()])
        .arg(env!("CARGO_BIN_EXE_oml-train"))
        .args(args)
        // Root in CI containers: Open MPI asks for both to start as root.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    cmd
}

fn run(mut cmd: Command) -> Output {
    let out = cmd.output().expect("mpirun (Open MPI: scripts/setup.sh installs it)");
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

fn metrics(run_dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn state(run_dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(run_dir.join("last/state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The weights digest each rank prints at the end, by rank.
fn digests(err: &str, ranks: usize) -> Vec<String> {
    (0..ranks)
        .map(|r| {
            let prefix = format!("rank {r} of {ranks}: trained weights sha256 ");
            let line = err.lines().find_map(|l| l.split_once(&prefix).map(|(_, d)| d));
            line.unwrap_or_else(|| panic!("no digest of rank {r}: {err}")).trim().to_owned()
        })
        .collect()
}

/// Two ranks with a batch each train like one process with two devices (the same losses,
/// steps and validation), hold the same weights, and only rank 0 writes; `--resume` under
/// mpirun continues the run.
#[test]
fn two_ranks_train_as_one_process_with_two_devices_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let ranked = dir.path().join("ranks");
    let args = tiny_args(&ranked, 2);
    let out = run(mpirun(2, &args));
    let err = stderr(&out);
    assert!(err.contains("mpi: 2 ranks"), "{err}");
    let d = digests(&err, 2);
    assert_eq!(d[0], d[1], "both ranks hold the same weights");

    let reference = dir.path().join("reference");
    let mut args = tiny_args(&reference, 2);
    args.extend(["--set".to_owned(), "devices=2".to_owned()]);
    let out = Command::new(env!("CARGO_BIN_EXE_oml-train")).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // Rank 0 alone logs: one line per epoch, one step log line per step.
    let (a, b) = (metrics(&ranked), metrics(&reference));
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(state(&ranked).unwrap()["steps"], state(&reference).unwrap()["steps"]);
    for (x, y) in a.iter().zip(&b) {
        let (lx, ly) = (x["train_loss"].as_f64().unwrap(), y["train_loss"].as_f64().unwrap());
        let (cx, cy) = (x["OVERALL/cmc/1"].as_f64().unwrap(), y["OVERALL/cmc/1"].as_f64().unwrap());
        // The same gradients (the losses agree to float rounding); the BatchNorm statistics
        // are averaged over the ranks each step, where burn averages its threads' when they
        // sync, so validation may differ by a query or two of the 30.
        assert!((lx - ly).abs() <= 1e-6 * ly, "loss {lx} vs {ly}");
        assert!((cx - cy).abs() <= 0.1, "cmc@1 {cx} vs {cy}");
    }

    let args = ["--resume", ranked.to_str().unwrap(), "--set", "max_epochs=3"].map(String::from);
    let out = run(mpirun(2, &args));
    let err = stderr(&out);
    assert!(err.contains("after epoch 2"), "{err}");
    let d = digests(&err, 2);
    assert_eq!(d[0], d[1], "the same weights after resuming");
    let epochs: Vec<_> = metrics(&ranked).iter().map(|m| m["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [1, 2, 3]);
}

/// One rank killed with SIGKILL mid-run: the job ends within a bounded time, not hung, with
/// the last complete checkpoint in place; `--resume` under mpirun finishes the run.
#[test]
fn a_killed_rank_ends_the_job_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let ranked = dir.path().join("ranks");
    let log = dir.path().join("stderr.txt");
    let args = tiny_args(&ranked, 4);
    let mut job = mpirun(2, &args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let pid_of_rank_1 = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().find_map(|l| {
            let rest = l.strip_prefix("mpi: rank 1 of 2 on ")?;
            rest.rsplit_once(", pid ")?.1.trim().parse::<u32>().ok()
        })
    };
    let pid = loop {
        let ready = state(&ranked).is_some_and(|s| s["epochs_done"] != 0);
        match pid_of_rank_1() {
            Some(pid) if ready => break pid,
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(600), "no checkpoint after 10 minutes");
        assert!(job.try_wait().unwrap().is_none(), "the job ended before it could be killed");
        std::thread::sleep(Duration::from_millis(50));
    };
    let killed = Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    let at = Instant::now();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(at.elapsed() < Duration::from_secs(60), "the job hangs after a rank died");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(err.contains("signal 9"), "{err}");

    let done = state(&ranked).unwrap()["epochs_done"].as_u64().unwrap();
    assert!((1..4).contains(&done), "{done}");
    let args = ["--resume", ranked.to_str().unwrap()].map(String::from);
    let out = run(mpirun(2, &args));
    assert!(stderr(&out).contains(&format!("after epoch {done}")), "{}", stderr(&out));
    assert_eq!(state(&ranked).unwrap()["epochs_done"], 4);
    let epochs: Vec<_> = metrics(&ranked).iter().map(|m| m["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [1, 2, 3, 4], "each epoch logged once across the kill");
}
