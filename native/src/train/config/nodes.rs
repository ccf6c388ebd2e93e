//! `[nodes]`: training across several machines (see `train::nodes`).

use serde::{Deserialize, Serialize};

/// `[nodes]` in the config: how many machines train together, which one this is, and
/// where node 0 listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesSection {
    /// Number of machines. Default 1 (no networking).
    #[serde(default = "one")]
    pub count: usize,
    /// This machine's rank, 0..count; node 0 listens, the others connect. Usually given on
    /// the command line: `--set nodes.rank=1`.
    #[serde(default)]
    pub rank: usize,
    /// `host:port` where node 0 listens (it binds this address; give it an address of its own
    /// or `0.0.0.0:port`) and the other nodes connect.
    #[serde(default)]
    pub address: String,
    /// How long nodes wait for each other at the start, in seconds. Default 300.
    #[serde(default = "five_minutes")]
    pub timeout_s: u64,
}

fn one() -> usize {
    1
}
fn five_minutes() -> u64 {
    300
}

impl Default for NodesSection {
    fn default() -> Self {
        Self { count: 1, rank: 0, address: String::new(), timeout_s: five_minutes() }
    }
}

impl NodesSection {
    /// The config's own checks.
    pub fn check(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("nodes.count must be at least 1".into());
        }
        if self.rank >= self.count {
            return Err(format!(
                "nodes.rank = {} is outside 0..{} (nodes.count)",
                self.rank, self.count
            ));
        }
        if self.count > 1 && self.address.trim().is_empty() {
            return Err("nodes.address (host:port of node 0) is needed with nodes.count > 1".into());
        }
        if self.timeout_s == 0 {
            return Err("nodes.timeout_s must be at least 1".into());
        }
        Ok(())
    }
}
