//! Training across several machines ("nodes"): a star of TCP connections around node 0.
//!
//! Every node runs the same config (the same seed, so the same batches in the same order);
//! node `r` of `n`, with `d` devices each, takes batches `r·d .. (r+1)·d` of each group of
//! `n·d`. Every node starts from node 0's weights ([`Cluster::broadcast`], as PyTorch DDP
//! does). After each step's backward pass the nodes sum their gradients
//! ([`Cluster::all_reduce_sum`]: node 0 adds everyone's vectors in rank order and sends the
//! sum back, so every node gets the same bits and takes the same optimizer step), then they
//! average their BatchNorm running statistics the same way, as burn averages those of the
//! devices of one machine. The models stay identical, so each node validates and checkpoints
//! the same model in
//! its own run folder and `--resume` works node by node.
//!
//! Why not burn's all-reduce: burn 0.22's `burn-collective` (what its multi-node training
//! uses) is implemented for the CubeCL backends only, not for the CPU backend this project
//! trains on. The protocol here is plain: 8-byte magic, then length-prefixed little-endian
//! frames; nothing is encrypted or authenticated, so use it on a trusted network.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::config::NodesSection;

const MAGIC: &[u8; 8] = b"OMLNODE1";
/// The most bytes a hello or a verdict may take (a fingerprint is 64 hex digits).
const MAX_CONTROL_BYTES: usize = 4096;

/// What the nodes check about each other before training: all must agree on everything
/// but their rank, run folder and dataset location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// A digest of what must be equal: the config (less rank, paths), the training rows,
    /// the model's trainable tensors.
    pub fingerprint: String,
    /// Epochs completed: a resumed run continues after the same epoch on every node.
    pub epochs_done: u64,
}

/// Errors of the node network, naming the node.
#[derive(Debug, thiserror::Error)]
pub enum NodesError {
    #[error("nodes.address `{address}`: {message}")]
    Address { address: String, message: String },
    #[error("node {rank}: cannot reach node 0 at {address} within {seconds} s: {source}")]
    Connect { rank: usize, address: String, seconds: u64, source: std::io::Error },
    #[error("node 0: only {connected} of the other {expected} nodes connected within {seconds} s")]
    Missing { connected: usize, expected: usize, seconds: u64 },
    #[error("{0}")]
    Refused(String),
    #[error("node {peer}: {message}")]
    Peer { peer: usize, message: String },
}

/// This node's connections: node 0 holds one per other node (in rank order), the others one
/// to node 0.
#[derive(Debug)]
pub struct Cluster {
    rank: usize,
    count: usize,
    /// For node 0: streams of nodes 1..count; for the others: the stream to node 0.
    links: Vec<Link>,
}

#[derive(Debug)]
struct Link {
    peer: usize,
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl Link {
    fn new(peer: usize, stream: TcpStream) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        let reader = BufReader::with_capacity(1 << 20, stream.try_clone()?);
        Ok(Self { peer, reader, writer: BufWriter::with_capacity(1 << 20, stream) })
    }

    fn fail(&self, e: impl std::fmt::Display) -> NodesError {
        NodesError::Peer { peer: self.peer, message: e.to_string() }
    }

    fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), NodesError> {
        self.writer
            .write_all(&(bytes.len() as u64).to_le_bytes())
            .and_then(|()| self.writer.write_all(bytes))
            .and_then(|()| self.writer.flush())
            .map_err(|e| self.fail(format!("connection lost ({e})")))
    }

    /// One length-prefixed message of at most `max` bytes: the length read from the socket is
    /// checked before anything is allocated for it.
    fn recv_bytes(&mut self, max: usize) -> Result<Vec<u8>, NodesError> {
        let mut len = [0u8; 8];
        self.reader
            .read_exact(&mut len)
            .map_err(|e| self.fail(format!("connection lost ({e})")))?;
        let len = u64::from_le_bytes(len);
        let len = usize::try_from(len).ok().filter(|&n| n <= max).ok_or_else(|| {
            self.fail(format!("announced a {len}-byte message where at most {max} fit"))
        })?;
        let mut bytes = vec![0u8; len];
        self.reader
            .read_exact(&mut bytes)
            .map_err(|e| self.fail(format!("connection lost ({e})")))?;
        Ok(bytes)
    }

    fn send_floats(&mut self, values: &[f32]) -> Result<(), NodesError> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.send_bytes(&bytes)
    }

    fn recv_floats(&mut self, expected: usize) -> Result<Vec<f32>, NodesError> {
        let bytes = self.recv_bytes(expected.saturating_mul(4))?;
        if bytes.len() != expected * 4 {
            return Err(self.fail(format!(
                "sent {} values where {expected} were expected (do the nodes train the same model?)",
                bytes.len() / 4
            )));
        }
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

fn resolve(address: &str) -> Result<SocketAddr, NodesError> {
    let bad = |message: String| NodesError::Address { address: address.to_owned(), message };
    address
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address".into()))
}

/// The hello a node sends node 0: magic, rank, epochs done, fingerprint.
fn hello(rank: usize, agreement: &Agreement) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(rank as u64).to_le_bytes());
    out.extend_from_slice(&agreement.epochs_done.to_le_bytes());
    out.extend_from_slice(agreement.fingerprint.as_bytes());
    out
}

fn parse_hello(bytes: &[u8]) -> Option<(usize, Agreement)> {
    if bytes.len() < 24 || &bytes[..8] != MAGIC {
        return None;
    }
    let rank = usize::try_from(u64::from_le_bytes(bytes[8..16].try_into().ok()?)).ok()?;
    let epochs_done = u64::from_le_bytes(bytes[16..24].try_into().ok()?);
    let fingerprint = String::from_utf8(bytes[24..].to_vec()).ok()?;
    Some((rank, Agreement { fingerprint, epochs_done }))
}

impl Cluster {
    /// Connects the nodes (node 0 waits for the others, the others retry until node 0
    /// listens), then checks that every node agrees with node 0; a disagreement stops every
    /// node with the same message.
    pub fn connect(section: &NodesSection, agreement: &Agreement) -> Result<Self, NodesError> {
        let (rank, count) = (section.rank, section.count);
        let timeout = Duration::from_secs(section.timeout_s);
        let address = resolve(&section.address)?;
        if rank == 0 {
            let listener = TcpListener::bind(address).map_err(|e| NodesError::Address {
                address: section.address.clone(),
                message: format!("node 0 cannot listen there: {e}"),
            })?;
            listener.set_nonblocking(true).map_err(|e| NodesError::Refused(e.to_string()))?;
            let started = Instant::now();
            let mut links: Vec<Option<Link>> = (1..count).map(|_| None).collect();
            let mut hellos: Vec<Option<Agreement>> = (1..count).map(|_| None).collect();
            let mut connected = 0;
            while connected < count - 1 {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        stream.set_read_timeout(Some(timeout)).ok();
                        let mut link = Link::new(usize::MAX, stream)
                            .map_err(|e| NodesError::Refused(e.to_string()))?;
                        let Some((peer, theirs)) =
                            link.recv_bytes(MAX_CONTROL_BYTES).ok().and_then(|b| parse_hello(&b))
                        else {
                            continue; // not one of ours: ignore it
                        };
                        if peer == 0 || peer >= count || links[peer - 1].is_some() {
                            let message = format!(
                                "a node connected as rank {peer}: ranks 1..{count} must each \
                                 connect once (nodes.rank)"
                            );
                            link.send_bytes(message.as_bytes()).ok();
                            return Err(NodesError::Refused(message));
                        }
                        link.peer = peer;
                        links[peer - 1] = Some(link);
                        hellos[peer - 1] = Some(theirs);
                        connected += 1;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if started.elapsed() > timeout {
                            return Err(NodesError::Missing {
                                connected,
                                expected: count - 1,
                                seconds: section.timeout_s,
                            });
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => return Err(NodesError::Refused(format!("node 0: accept: {e}"))),
                }
            }
            let mut links: Vec<Link> = links.into_iter().flatten().collect();
            let verdict = hellos
                .iter()
                .flatten()
                .zip(1..)
                .find_map(|(theirs, peer)| disagreement(peer, theirs, agreement))
                .unwrap_or_default();
            for link in &mut links {
                link.send_bytes(verdict.as_bytes())?;
                link.reader.get_ref().set_read_timeout(None).ok();
            }
            if !verdict.is_empty() {
                return Err(NodesError::Refused(verdict));
            }
            Ok(Self { rank, count, links })
        } else {
            let started = Instant::now();
            let stream = loop {
                match TcpStream::connect_timeout(&address, Duration::from_secs(5)) {
                    Ok(stream) => break stream,
                    Err(source) => {
                        if started.elapsed() > timeout {
                            return Err(NodesError::Connect {
                                rank,
                                address: section.address.clone(),
                                seconds: section.timeout_s,
                                source,
                            });
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            };
            let mut link = Link::new(0, stream).map_err(|e| NodesError::Refused(e.to_string()))?;
            link.send_bytes(&hello(rank, agreement))?;
            let verdict = link.recv_bytes(MAX_CONTROL_BYTES)?;
            if !verdict.is_empty() {
                return Err(NodesError::Refused(String::from_utf8_lossy(&verdict).into_owned()));
            }
            Ok(Self { rank, count, links: vec![link] })
        }
    }

    /// Number of nodes.
    pub fn count(&self) -> usize {
        self.count
    }

    /// This node's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Replaces `values` on every node by the sum over nodes, added in rank order on node 0
    /// (so every node holds the same bits).
    pub fn all_reduce_sum(&mut self, values: &mut [f32]) -> Result<(), NodesError> {
        if self.rank == 0 {
            for link in &mut self.links {
                let theirs = link.recv_floats(values.len())?;
                for (v, t) in values.iter_mut().zip(&theirs) {
                    *v += t;
                }
            }
            for link in &mut self.links {
                link.send_floats(values)?;
            }
        } else {
            let link = &mut self.links[0];
            link.send_floats(values)?;
            let sum = link.recv_floats(values.len())?;
            values.copy_from_slice(&sum);
        }
        Ok(())
    }

    /// Replaces `values` on every node by node 0's.
    pub fn broadcast(&mut self, values: &mut [f32]) -> Result<(), NodesError> {
        if self.rank == 0 {
            for link in &mut self.links {
                link.send_floats(values)?;
            }
        } else {
            let link = &mut self.links[0];
            let theirs = link.recv_floats(values.len())?;
            values.copy_from_slice(&theirs);
        }
        Ok(())
    }
}

/// Why node `peer` cannot train with node 0, if it cannot.
fn disagreement(peer: usize, theirs: &Agreement, ours: &Agreement) -> Option<String> {
    if theirs.epochs_done != ours.epochs_done {
        return Some(format!(
            "node {peer} starts after epoch {}, node 0 after epoch {}: resume every node from \
             the same epoch",
            theirs.epochs_done, ours.epochs_done
        ));
    }
    if theirs.fingerprint != ours.fingerprint {
        return Some(format!(
            "node {peer} has another config, dataset or model than node 0 (everything but \
             nodes.rank, nodes.address, run_dir and dataset_root must be equal)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_address() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    }

    fn section(count: usize, rank: usize, address: &str) -> NodesSection {
        NodesSection { count, rank, address: address.to_owned(), timeout_s: 10 }
    }

    fn agreement(fingerprint: &str, epochs_done: u64) -> Agreement {
        Agreement { fingerprint: fingerprint.to_owned(), epochs_done }
    }

    /// Runs node `rank` of `count` with `f` on a thread.
    fn spawn<T: Send + 'static>(
        count: usize,
        rank: usize,
        address: &str,
        agreed: Agreement,
        f: impl FnOnce(Result<Cluster, NodesError>) -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let s = section(count, rank, address);
        std::thread::spawn(move || f(Cluster::connect(&s, &agreed)))
    }

    #[test]
    fn three_nodes_sum_in_rank_order_and_broadcast_node_0s_values() {
        let address = free_address();
        let nodes: Vec<_> = (0..3)
            .map(|rank| {
                spawn(3, rank, &address, agreement("same", 2), move |cluster| {
                    let mut cluster = cluster.unwrap();
                    let r = rank as f32;
                    let mut values = vec![r, 10.0 * r, 0.1];
                    cluster.all_reduce_sum(&mut values).unwrap();
                    let mut buffers = vec![r + 5.0; 4];
                    cluster.broadcast(&mut buffers).unwrap();
                    (values, buffers)
                })
            })
            .collect();
        let results: Vec<_> = nodes.into_iter().map(|h| h.join().unwrap()).collect();
        let expected_sum = vec![3.0, 30.0, 0.1f32 + 0.1 + 0.1];
        for (values, buffers) in &results {
            assert_eq!(values, &expected_sum);
            assert_eq!(buffers, &vec![5.0; 4]);
        }
    }

    /// A stranger announcing an 18-exabyte message is ignored without allocating for it
    /// (8 bytes used to panic node 0 or commit 64 GiB); the real node then joins.
    #[test]
    fn a_huge_announced_length_is_refused_before_allocating() {
        let address = free_address();
        let node0 = spawn(2, 0, &address, agreement("same", 0), |c| c.map(|c| c.rank()));
        let mut stranger = loop {
            if let Ok(s) = TcpStream::connect(&address) {
                break s;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        stranger.write_all(&u64::MAX.to_le_bytes()).unwrap();
        stranger.flush().unwrap();
        let node1 = spawn(2, 1, &address, agreement("same", 0), |c| c.map(|c| c.rank()));
        assert_eq!(node1.join().unwrap().unwrap(), 1);
        assert_eq!(node0.join().unwrap().unwrap(), 0);
    }

    #[test]
    fn nodes_that_disagree_all_stop_with_the_reason() {
        let address = free_address();
        let a = spawn(2, 0, &address, agreement("x", 3), |c| c.map(|_| ()).unwrap_err());
        let b = spawn(2, 1, &address, agreement("x", 2), |c| c.map(|_| ()).unwrap_err());
        for e in [a.join().unwrap(), b.join().unwrap()] {
            let message = e.to_string();
            assert!(
                message.contains("node 1 starts after epoch 2, node 0 after epoch 3"),
                "{message}"
            );
        }
        let address = free_address();
        let a = spawn(2, 0, &address, agreement("x", 0), |c| c.map(|_| ()).unwrap_err());
        let b = spawn(2, 1, &address, agreement("y", 0), |c| c.map(|_| ()).unwrap_err());
        for e in [a.join().unwrap(), b.join().unwrap()] {
            assert!(e.to_string().contains("another config, dataset or model"), "{e}");
        }
    }

    #[test]
    fn a_missing_node_is_a_timeout_that_names_it() {
        let address = free_address();
        let mut s = section(2, 1, &address);
        s.timeout_s = 1;
        let e = Cluster::connect(&s, &agreement("x", 0)).unwrap_err();
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("node 1: cannot reach node 0 at {address} within 1 s")),
            "{message}"
        );
        let mut s = section(3, 0, &address);
        s.timeout_s = 1;
        let e = Cluster::connect(&s, &agreement("x", 0)).unwrap_err();
        assert_eq!(e.to_string(), "node 0: only 0 of the other 2 nodes connected within 1 s");
    }

    #[test]
    fn sections_are_checked() {
        assert!(NodesSection::default().check().is_ok());
        assert!(section(2, 2, "h:1").check().unwrap_err().contains("nodes.rank = 2"));
        assert!(section(2, 0, "").check().unwrap_err().contains("nodes.address"));
        assert!(section(0, 0, "").check().unwrap_err().contains("nodes.count"));
    }

    #[test]
    fn a_vector_of_another_length_is_an_error_naming_the_node() {
        let address = free_address();
        let a = spawn(2, 0, &address, agreement("x", 0), |c| {
            let mut v = vec![1.0; 3];
            c.unwrap().all_reduce_sum(&mut v).unwrap_err().to_string()
        });
        let b = spawn(2, 1, &address, agreement("x", 0), |c| {
            let mut v = vec![1.0; 2];
            // Node 0 stops after the bad frame, so this node's read fails too.
            c.unwrap().all_reduce_sum(&mut v).is_err()
        });
        let message = a.join().unwrap();
        assert!(message.starts_with("node 1: sent 2 values where 3 were expected"), "{message}");
        assert!(b.join().unwrap());
    }
}
