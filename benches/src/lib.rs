//! Shared helpers for the benches: deterministic synthetic data and a peak-memory probe.

/// SplitMix64 + Box-Muller: deterministic N(0, 1) data without a dependency.
#[derive(Debug, Clone)]
pub struct Normal(u64);

impl Normal {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn sample(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The benchmark setting of the foundation issue: `n` rows that are all queries and all gallery,
/// `dim` N(0, 1) features, labels uniform over `n / 10` identities.
#[derive(Debug, Clone)]
pub struct Synthetic {
    pub embeddings: Vec<f32>,
    pub labels: Vec<u32>,
    pub n: usize,
    pub dim: usize,
}

impl Synthetic {
    pub fn new(n: usize, dim: usize, seed: u64) -> Self {
        let mut rng = Normal::new(seed);
        let embeddings = (0..n * dim).map(|_| rng.sample()).collect();
        let n_labels = (n as u64 / 10).max(2);
        let labels = (0..n).map(|_| rng.below(n_labels) as u32).collect();
        Self { embeddings, labels, n, dim }
    }
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`); `None` elsewhere.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
