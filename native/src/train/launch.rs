//! How this process was started ([`launched`]) and the processes it trains with ([`join`]):
//! alone, or as a rank of an MPI job.

use super::processes::Processes;

/// How the process was started: as rank `rank` of `size` by an MPI launcher (`mpirun`,
/// `mpiexec`, `srun`), read from the variables the launchers set; `None` when not.
pub fn launched() -> Option<(usize, usize)> {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<usize>().ok());
    // Open MPI's mpirun; MPICH's and Intel MPI's Hydra and Slurm's PMI-2; PMIx (srun --mpi=pmix).
    [("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")]
        .iter()
        .find_map(|(rank, size)| Some((var(rank)?, var(size)?)))
        .or_else(|| Some((var("PMIX_RANK")?, var("SLURM_NTASKS").unwrap_or(0))))
}

/// The processes of this run: MPI's ranks when an MPI launcher started this process (with the
/// `mpi` feature), else this process alone. Launched as one of several ranks by a build
/// without MPI, an error: each rank would train on its own and they would write over each
/// other's run.
pub fn join() -> anyhow::Result<Processes> {
    let Some((rank, size)) = launched() else { return Ok(Processes::alone()) };
    #[cfg(feature = "mpi")]
    {
        let _ = (rank, size);
        let ranks = super::mpi::Mpi::init()?;
        Ok(Processes::ranks(Box::new(ranks)))
    }
    #[cfg(not(feature = "mpi"))]
    {
        anyhow::ensure!(
            size <= 1,
            "started as rank {rank} of {size} by an MPI launcher, but this oml-train was built \
             without MPI: build it with `--features mpi` (README, \"Several GPUs, several \
             machines\"), or start one process"
        );
        Ok(Processes::alone())
    }
}
