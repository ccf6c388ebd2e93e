//! How this process was started ([`launched`]) and the processes it trains with ([`join`]):
//! alone, or as a rank of an MPI job.

use super::processes::Processes;

/// How the process was started: as rank `rank` of `size` by an MPI launcher (`mpirun`,
/// `mpiexec`, `srun`), read from the variables the launchers set; `None` when not.
pub fn launched() -> Option<(usize, usize)> {
    launched_by(|name| std::env::var(name).ok())
}

/// [`launched`] with the environment's variables read by `var`.
fn launched_by(var: impl Fn(&str) -> Option<String>) -> Option<(usize, usize)> {
    let number = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok());
    // Open MPI's mpirun; MPICH's and Intel MPI's Hydra and Slurm's PMI-2; PMIx (srun
    // --mpi=pmix), whose size MPI itself tells.
    [("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")]
        .iter()
        .find_map(|(rank, size)| Some((number(rank)?, number(size)?)))
        .or_else(|| Some((number("PMIX_RANK")?, number("SLURM_NTASKS").unwrap_or(0))))
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

#[cfg(test)]
mod tests {
    use super::launched_by;

    /// Each launcher's variables are read; none, or unreadable ones, mean no launcher.
    #[test]
    fn the_launchers_variables_tell_rank_and_size() {
        let with = |vars: &'static [(&'static str, &'static str)]| {
            launched_by(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
        };
        assert_eq!(with(&[]), None);
        assert_eq!(
            with(&[("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "4")]),
            Some((1, 4))
        );
        assert_eq!(with(&[("PMI_RANK", "0"), ("PMI_SIZE", " 2 ")]), Some((0, 2)));
        assert_eq!(with(&[("PMIX_RANK", "3"), ("SLURM_NTASKS", "8")]), Some((3, 8)));
        assert_eq!(with(&[("OMPI_COMM_WORLD_RANK", "x"), ("OMPI_COMM_WORLD_SIZE", "2")]), None);
        assert_eq!(with(&[("SLURM_NTASKS", "8")]), None, "sbatch's own shell is no MPI rank");
    }
}
