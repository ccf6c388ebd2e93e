//! The ranks of an MPI job as a [`Collective`] (cargo feature `mpi`): rsmpi over the system's
//! MPI library (Open MPI, MPICH, a vendor's), which brings the launcher (`mpirun`, `srun`),
//! the transports (shared memory, TCP, InfiniBand, UCX) and the reduction algorithms.

use mpi::Threading;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};

use super::processes::{Collective, say};

/// MPI counts are C ints: larger buffers go in pieces of this many elements.
const PIECE: usize = 1 << 28;

/// `MPI_COMM_WORLD` of this process's job; MPI ends (`MPI_Finalize`) when it is dropped.
pub struct Mpi {
    world: SimpleCommunicator,
    // Dropped after `world`: finalises MPI.
    _universe: Universe,
}

impl Mpi {
    /// Joins the job the launcher started this process in (`MPI_Init_thread`). Only one thread
    /// calls MPI at a time (the trainer's), others decode images and run kernels.
    pub fn init() -> anyhow::Result<Self> {
        let (universe, _) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| anyhow::anyhow!("MPI was initialised already"))?;
        let world = universe.world();
        if world.rank() == 0 {
            let library = mpi::environment::library_version().unwrap_or_default();
            let library = library.lines().next().unwrap_or("MPI").trim().to_owned();
            // One write, so the other ranks' lines cannot land inside it (the test reads it).
            say(&format!("mpi: {} ranks ({library})", world.size()));
        }
        // Where each rank runs, for the logs of a job that fails on one of its machines.
        let host = mpi::environment::processor_name().unwrap_or_default();
        say(&format!(
            "mpi: rank {} of {} on {host}, pid {}",
            world.rank(),
            world.size(),
            std::process::id()
        ));
        Ok(Self { world, _universe: universe })
    }
}

impl Drop for Mpi {
    /// A panic unwinding through here must not reach `MPI_Finalize`, which waits for the
    /// other ranks while they wait for this one in a collective: it ends the job instead.
    fn drop(&mut self) {
        if std::thread::panicking() {
            say(&format!("rank {}: panicked; ending the job", self.rank()));
            self.world.abort(101);
        }
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        usize::try_from(self.world.rank()).unwrap_or(0)
    }

    fn size(&self) -> usize {
        usize::try_from(self.world.size()).unwrap_or(1)
    }

    fn all_reduce_sum(&self, values: &mut [f32]) {
        let mut sent = Vec::new();
        for piece in values.chunks_mut(PIECE) {
            sent.clear();
            sent.extend_from_slice(piece);
            self.world.all_reduce_into(&sent[..], piece, mpi::collective::SystemOperation::sum());
        }
    }

    fn broadcast(&self, bytes: &mut [u8]) {
        let root = self.world.process_at_rank(0);
        for piece in bytes.chunks_mut(PIECE) {
            root.broadcast_into(piece);
        }
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
