//! Blocked retrieval against brute force: the same items, the same order, the same distances,
//! across tile boundaries, with sequences, self-exclusion, duplicates and a large common offset
//! (the worst case for the matrix-product distance formula the tiles use).
#![allow(clippy::unwrap_used)]

use oml_core::metrics::{
    MetricsAccumulator, MetricsConfig, evaluate, fnmr_at_fmr, fnmr_at_fmr_streaming,
};
use oml_core::retrieval::{Distance, Embeddings, QueryGallery, retrieve};

/// SplitMix64: a tiny seeded generator, enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

struct Data {
    emb: Vec<f32>,
    dim: usize,
    labels: Vec<u32>,
    is_query: Vec<bool>,
    is_gallery: Vec<bool>,
    sequences: Vec<Option<String>>,
}

/// Clustered data: `n` rows around `n / 4` centres, some exact duplicates, coarse values so
/// that distance ties happen.
fn data(n: usize, dim: usize, offset: f32, seed: u64) -> Data {
    let mut rng = Rng(seed);
    let n_labels = (n / 4).max(2) as u64;
    let centres: Vec<Vec<f32>> =
        (0..n_labels).map(|_| (0..dim).map(|_| rng.unit() * 4.0).collect()).collect();
    let mut emb = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = rng.below(n_labels) as u32;
        if i > 0 && rng.below(10) == 0 {
            // Exact duplicate of the previous row.
            let prev = emb[(i - 1) * dim..i * dim].to_vec();
            emb.extend(prev);
            labels.push(labels[i - 1]);
            continue;
        }
        labels.push(label);
        emb.extend(
            centres[label as usize].iter().map(|c| offset + c + (rng.unit() * 8.0).round() / 8.0),
        );
    }
    let mut is_query = Vec::with_capacity(n);
    let mut is_gallery = Vec::with_capacity(n);
    for _ in 0..n {
        match rng.below(3) {
            0 => (is_query.push(true), is_gallery.push(false)),
            1 => (is_query.push(false), is_gallery.push(true)),
            _ => (is_query.push(true), is_gallery.push(true)),
        };
    }
    let sequences = (0..n)
        .map(|_| match rng.below(8) {
            0 => None,
            s => Some(format!("seq{}", s + rng.below(n as u64 / 3 + 1) * 8)),
        })
        .collect();
    Data { emb, dim, labels, is_query, is_gallery, sequences }
}

fn brute_force(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    k: usize,
    distance: Distance,
) -> Vec<Vec<(u32, f32)>> {
    qg.query_rows()
        .iter()
        .map(|&q| {
            let mut all: Vec<(u32, f32)> = qg
                .gallery_rows()
                .iter()
                .enumerate()
                .filter(|&(_, &g)| !qg.is_hidden(q, g))
                .map(|(j, &g)| {
                    (j as u32, distance.between(emb.row(q as usize), emb.row(g as usize)))
                })
                .collect();
            all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            all.truncate(k);
            all
        })
        .collect()
}

fn check_against_brute_force(d: &Data, with_sequences: bool, k: usize, distance: Distance) {
    let n = d.labels.len();
    let emb = Embeddings::new(&d.emb, n, d.dim).unwrap();
    let mut qg = QueryGallery::new(d.labels.clone(), &d.is_query, &d.is_gallery).unwrap();
    if with_sequences {
        qg = qg.with_sequences(&d.sequences).unwrap();
    }
    let results = retrieve(&emb, &qg, k, distance).unwrap();
    let want = brute_force(&emb, &qg, k, distance);
    assert_eq!(results.n_queries(), want.len());
    for (q, want) in want.iter().enumerate() {
        let got = results.query(q);
        let got: Vec<(u32, f32)> =
            got.retrieved.iter().copied().zip(got.distances.iter().copied()).collect();
        assert_eq!(&got, want, "query {q} ({distance}, sequences {with_sequences})");
    }
}

#[test]
fn small_inputs_match_brute_force() {
    for seed in 0..20 {
        let d = data(40, 3, 0.0, seed);
        for distance in [Distance::Euclidean, Distance::Cosine] {
            check_against_brute_force(&d, seed % 2 == 0, 7, distance);
        }
    }
}

#[test]
fn many_tiles_match_brute_force() {
    // More queries than one block (256) and more gallery items than one tile (2048).
    let d = data(3300, 16, 0.0, 42);
    check_against_brute_force(&d, true, 12, Distance::Euclidean);
    check_against_brute_force(&d, false, 5, Distance::Cosine);
}

#[test]
fn every_row_both_query_and_gallery_uses_the_symmetric_sweep_correctly() {
    // Queries == gallery: only tiles on and above the diagonal are computed (3 x 3 blocks here).
    let mut d = data(1300, 8, 0.0, 5);
    d.is_query = vec![true; 1300];
    d.is_gallery = vec![true; 1300];
    for with_sequences in [false, true] {
        check_against_brute_force(&d, with_sequences, 9, Distance::Euclidean);
        check_against_brute_force(&d, with_sequences, 4, Distance::Cosine);
    }
}

#[test]
fn large_offset_does_not_break_exactness() {
    // ‖x‖² ≈ 1e8 while distances are ~1: the float32 tile formula alone cannot rank these.
    let d = data(600, 8, 3000.0, 7);
    check_against_brute_force(&d, false, 10, Distance::Euclidean);
}

#[test]
fn k_larger_than_gallery_returns_everything_retrievable() {
    let d = data(30, 4, 0.0, 3);
    check_against_brute_force(&d, true, 1000, Distance::Euclidean);
}

#[test]
fn streaming_fnmr_matches_in_memory_quantiles() {
    let fmr = [0.0, 0.001, 0.01, 0.1, 0.37, 0.5, 0.9, 1.0];
    for (n, seed, with_sequences, symmetric) in
        [(60, 1, false, false), (300, 2, true, false), (700, 9, true, false), (1100, 4, true, true)]
    {
        let mut d = data(n, 6, 0.0, seed);
        if symmetric {
            d.is_query = vec![true; n];
            d.is_gallery = vec![true; n];
        }
        let emb = Embeddings::new(&d.emb, n, d.dim).unwrap();
        let mut qg = QueryGallery::new(d.labels.clone(), &d.is_query, &d.is_gallery).unwrap();
        if with_sequences {
            qg = qg.with_sequences(&d.sequences).unwrap();
        }
        for distance in [Distance::Euclidean, Distance::Cosine] {
            let (mut pos, mut neg) = (Vec::new(), Vec::new());
            for &q in qg.query_rows() {
                for &g in qg.gallery_rows() {
                    if qg.is_hidden(q, g) {
                        continue;
                    }
                    let dist = distance.between(emb.row(q as usize), emb.row(g as usize));
                    if qg.label(q) == qg.label(g) { pos.push(dist) } else { neg.push(dist) }
                }
            }
            let want = fnmr_at_fmr(&pos, &neg, &fmr);
            let got = fnmr_at_fmr_streaming(&emb, &qg, distance, &fmr);
            assert_eq!(got, want, "n {n} {distance}");
        }
    }
}

#[test]
fn fnmr_follows_numpy_linear_quantile() {
    // negatives 1..=5: quantile(0.1) = 1.4, quantile(0.5) = 3, quantile(0.9) = 4.6, in float64
    // (numpy 1.26.4 returns float64 thresholds for float32 input), so the float32 positive
    // 1.4f32 = 1.39999997… is *below* the 0.1 threshold. numpy 1.26.4 gives [0.5, 0.5, 0.25]:
    //   neg = np.array([5,1,3,2,4], dtype=np.float32); q = np.quantile(neg, [.1, .5, .9])
    //   pos = np.array([.5, 1.4, 3, 4.7], dtype=np.float32); (pos[None] >= q[:, None]).mean(1)
    let neg = [5.0, 1.0, 3.0, 2.0, 4.0];
    let pos = [0.5, 1.4, 3.0, 4.7];
    assert_eq!(fnmr_at_fmr(&pos, &neg, &[0.1, 0.5, 0.9]), vec![0.5, 0.5, 0.25]);
    assert!(fnmr_at_fmr(&pos, &[], &[0.1])[0].is_nan(), "no negatives: NaN, not a crash");
    assert!(fnmr_at_fmr(&[], &neg, &[0.1])[0].is_nan(), "no positives: NaN");
}

#[test]
fn accumulator_equals_one_shot_evaluation() {
    let d = data(120, 5, 0.0, 11);
    let n = d.labels.len();
    let qg = QueryGallery::new(d.labels.clone(), &d.is_query, &d.is_gallery).unwrap();
    let config = MetricsConfig { fmr_vals: vec![0.1], ..MetricsConfig::default() };
    let emb = Embeddings::new(&d.emb, n, d.dim).unwrap();
    let once = evaluate(&emb, &qg, &config).unwrap();

    let mut acc = MetricsAccumulator::new(qg, d.dim);
    // Batches out of order, as a shuffled loader would give them.
    let order: Vec<usize> = (0..n).rev().collect();
    for batch in order.chunks(17) {
        assert!(acc.compute(&config).is_err(), "incomplete accumulator must refuse");
        let rows: Vec<f32> =
            batch.iter().flat_map(|&r| d.emb[r * d.dim..(r + 1) * d.dim].to_vec()).collect();
        acc.update(batch, &rows).unwrap();
    }
    assert!(acc.update(&[0], &d.emb[..d.dim]).is_err(), "duplicate row must be refused");
    assert_eq!(acc.compute(&config).unwrap(), once);
}
