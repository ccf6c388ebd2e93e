//! The processes that train together ([`Processes`]): this one alone, or the ranks of an MPI
//! job (`mpirun -np N oml-train …` or `srun`, cargo feature `mpi`; [`super::launch`] joins
//! them).
//!
//! Every rank reads the same data and takes the same optimizer steps on the gradients summed
//! over the ranks (data-parallel, as PyTorch DDP). Rank 0 leads: it alone reads the config and
//! the checkpoint, writes the run folder, validates, logs and reports, and sends the others
//! what they need (the run, the starting weights, a resumed optimizer state).

use sha2::{Digest, Sha256};

/// MPI's collectives as the trainer uses them, on host memory. A failed collective ends the
/// whole job (MPI's default error handler), so they return nothing.
pub trait Collective {
    /// This process's rank, `0..size`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// `values` summed element-wise over the ranks, on every rank (the same bits everywhere).
    fn all_reduce_sum(&self, values: &mut [f32]);
    /// Rank 0's `bytes` on every rank; `bytes` has the same length on every rank.
    fn broadcast(&self, bytes: &mut [u8]);
    /// Ends every rank of the job now with exit code `code` (after an error on this rank,
    /// which the others, waiting in a collective, would otherwise wait for forever).
    fn abort(&self, code: i32) -> !;
}

/// This process alone, or the ranks it trains with.
pub struct Processes(Option<Box<dyn Collective>>);

impl std::fmt::Debug for Processes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Processes(rank {} of {})", self.rank(), self.size())
    }
}

impl Processes {
    /// This process alone (no MPI).
    pub fn alone() -> Self {
        Self(None)
    }

    /// The ranks of `collective` (alone when it has one rank).
    pub fn ranks(collective: Box<dyn Collective>) -> Self {
        if collective.size() > 1 { Self(Some(collective)) } else { Self(None) }
    }

    pub fn rank(&self) -> usize {
        self.0.as_ref().map_or(0, |c| c.rank())
    }

    pub fn size(&self) -> usize {
        self.0.as_ref().map_or(1, |c| c.size())
    }

    /// Whether this process leads (rank 0): it writes, validates and reports.
    pub fn leads(&self) -> bool {
        self.rank() == 0
    }

    /// The collective, when there are other ranks.
    pub fn collective(&self) -> Option<&dyn Collective> {
        self.0.as_deref()
    }

    /// Ends every rank (see [`Collective::abort`]); returns when alone.
    pub fn abort_others(&self, code: i32) {
        if let Some(c) = &self.0 {
            c.abort(code);
        }
    }
}

/// `line` on stderr in one write: the launcher forwards each rank's output in the pieces it
/// was written in, and `eprintln!`'s pieces interleave with other ranks' lines.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// Rank 0's `bytes` on every rank, whatever their length elsewhere.
pub fn broadcast_vec(c: &dyn Collective, bytes: &mut Vec<u8>) {
    let mut len = (bytes.len() as u64).to_le_bytes();
    c.broadcast(&mut len);
    bytes.resize(usize::try_from(u64::from_le_bytes(len)).unwrap_or(usize::MAX), 0);
    c.broadcast(bytes);
}

/// Rank 0's `values` on every rank (the same length on every rank).
pub fn broadcast_f32(c: &dyn Collective, values: &mut [f32]) {
    let mut bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    c.broadcast(&mut bytes);
    for (v, b) in values.iter_mut().zip(bytes.chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// Checks that every rank holds the same `what` as rank 0 (by the SHA-256 of `bytes`); an
/// error on every rank otherwise, so that all of them stop, none waits.
pub fn agree(c: &dyn Collective, what: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let mine: [u8; 32] = Sha256::digest(bytes).into();
    let mut leader = mine;
    c.broadcast(&mut leader);
    let mut differing = [f32::from(u8::from(leader != mine))];
    c.all_reduce_sum(&mut differing);
    let n = differing[0].round() as usize;
    anyhow::ensure!(
        n == 0,
        "{n} of the {} ranks hold {what} other than rank 0's{}",
        c.size(),
        if leader == mine { String::new() } else { format!(" (rank {} does)", c.rank()) }
    );
    Ok(())
}
