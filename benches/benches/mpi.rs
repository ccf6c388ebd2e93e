//! One all-reduce of MobileNetV2's gradients (3.5 M floats, 14 MB) between two MPI ranks on
//! this machine, as `oml-train` under `mpirun -np 2` does after every backward pass.
//!
//! `cargo bench -p oml-benches --features mpi --bench mpi`: started by cargo, the bench starts
//! itself again under `mpirun --oversubscribe -np 2`; rank 0 runs criterion and rank 1 follows,
//! told before each batch of iterations how many to take (0: stop).

use std::time::Instant;

use criterion::{Criterion, Throughput};
use oml_native::train::launch::{join, launched};
use oml_native::train::processes::Collective;

/// MobileNetV2's trainable floats (width 1.0, 224 px head as the zoo builds it).
const N: usize = 3_504_872;

fn main() {
    if launched().is_none() {
        std::process::exit(under_mpirun());
    }
    let processes = join().expect("MPI starts");
    let ranks = processes.collective().expect("two ranks");
    let mut values = vec![1.0f32; N];
    if ranks.rank() == 0 {
        let mut c = Criterion::default().configure_from_args();
        let mut group = c.benchmark_group("mpi");
        group.sample_size(20);
        group.throughput(Throughput::Bytes(4 * N as u64));
        group.bench_function("all_reduce_mobilenet_v2_two_ranks_localhost", |b| {
            b.iter_custom(|iters| {
                tell(ranks, iters);
                let started = Instant::now();
                for _ in 0..iters {
                    ranks.all_reduce_sum(&mut values);
                }
                started.elapsed()
            });
        });
        group.finish();
        tell(ranks, 0);
        c.final_summary();
    } else {
        loop {
            let iters = tell(ranks, 0);
            if iters == 0 {
                break;
            }
            for _ in 0..iters {
                ranks.all_reduce_sum(&mut values);
            }
        }
    }
}

/// Rank 0's `iters` on every rank.
fn tell(ranks: &dyn Collective, iters: u64) -> u64 {
    let mut bytes = iters.to_le_bytes();
    ranks.broadcast(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// Runs this bench again as two ranks; returns their exit code.
fn under_mpirun() -> i32 {
    let exe = std::env::current_exe().expect("the bench's path");
    let status = std::process::Command::new("mpirun")
        .args(["--oversubscribe", "--bind-to", "none", "-np", "2"])
        .arg(exe)
        .args(std::env::args().skip(1))
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .status()
        .expect("mpirun (Open MPI: scripts/setup.sh installs it)");
    status.code().unwrap_or(1)
}
