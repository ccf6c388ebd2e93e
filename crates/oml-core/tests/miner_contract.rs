//! Every index miner through the same checks on random P x K batches: triplets are valid
//! (anchor and positive share a label, the negative does not), the anchor is not its own
//! positive where OML guarantees it, and the counts are OML's.
#![allow(clippy::unwrap_used)]

use burn::tensor::{Device, Distribution, Tensor};
use oml_core::miner::{
    AllTripletsMiner, HardClusterMiner, HardTripletsMiner, HardestRange, MinerError,
    NHardTripletsMiner, TripletMiner, TripletMinerWithMemory, TripletSource,
};

/// A P x K batch with labels shuffled by a seeded Fisher-Yates.
fn batch(p: usize, k: usize, seed: u64) -> (Tensor<2>, Vec<u32>) {
    let device = Device::flex();
    let mut labels: Vec<u32> = (0..p * k).map(|i| u32::try_from(i / k).unwrap()).collect();
    let mut state = seed;
    for i in (1..labels.len()).rev() {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        labels.swap(i, usize::try_from((state >> 33) % (i as u64 + 1)).unwrap());
    }
    (Tensor::<2>::random([p * k, 6], Distribution::Normal(0.0, 1.0), &device), labels)
}

/// (miner, anchor may be its own positive, expected count for P x K).
type Case = (Box<dyn TripletMiner>, bool, fn(usize, usize) -> usize);

fn miners() -> Vec<(&'static str, Case)> {
    vec![
        (
            "all",
            (Box::new(AllTripletsMiner::default()), false, |p, k| p * k * (k - 1) * (p - 1) * k),
        ),
        ("hard", (Box::new(HardTripletsMiner), true, |p, k| p * k)),
        (
            "nhard 1/1",
            (
                Box::new(
                    NHardTripletsMiner::new(HardestRange::First(1), HardestRange::First(1))
                        .unwrap(),
                ),
                false,
                |p, k| p * k,
            ),
        ),
        (
            "nhard 2/3",
            (
                Box::new(
                    NHardTripletsMiner::new(HardestRange::First(2), HardestRange::First(3))
                        .unwrap(),
                ),
                false,
                |p, k| p * k * 2.min(k - 1) * 3.min((p - 1) * k),
            ),
        ),
        (
            "nhard 2..3 / 1..100",
            (
                Box::new(
                    NHardTripletsMiner::new(
                        HardestRange::Between { from: 2, to: 3 },
                        HardestRange::Between { from: 1, to: 100 },
                    )
                    .unwrap(),
                ),
                false,
                |p, k| p * k * (k - 1).min(3).saturating_sub(1) * (p - 1) * k,
            ),
        ),
    ]
}

#[test]
fn every_miner_returns_valid_triplets_in_oml_counts() {
    for (name, (miner, self_positive_allowed, count)) in miners() {
        for (p, k, seed) in [(2, 2, 1), (3, 3, 2), (4, 5, 3), (8, 4, 4)] {
            let (features, labels) = batch(p, k, seed);
            let t = miner.sample(&features, &labels).unwrap();
            assert_eq!(t.len(), count(p, k), "{name} on {p} x {k}");
            assert_eq!((t.positive.len(), t.negative.len()), (t.len(), t.len()));
            for i in 0..t.len() {
                let (a, pos, neg) = (t.anchor[i], t.positive[i], t.negative[i]);
                assert_eq!(labels[a], labels[pos], "{name}: positive has another label");
                assert_ne!(labels[a], labels[neg], "{name}: negative has the anchor's label");
                assert!(self_positive_allowed || a != pos, "{name}: anchor is its own positive");
            }
        }
    }
}

#[test]
fn every_miner_rejects_unminable_batches() {
    let device = Device::flex();
    let features = Tensor::<2>::zeros([4, 3], &device);
    let mut all: Vec<(&str, Box<dyn TripletSource>)> = miners()
        .into_iter()
        .map(|(n, (m, _, _))| (n, Box::new(BoxedMiner(m)) as Box<dyn TripletSource>))
        .collect();
    all.push(("hard cluster", Box::new(HardClusterMiner)));
    for (name, miner) in all {
        let err = |labels: &[u32]| miner.mine(features.clone(), labels).err();
        assert_eq!(err(&[0, 0, 0, 0]), Some(MinerError::TooFewLabels(1)), "{name}");
        assert_eq!(err(&[0, 0, 1, 2]), Some(MinerError::SingletonLabel { label: 1 }), "{name}");
        assert_eq!(
            err(&[0, 0, 1]),
            Some(MinerError::LengthMismatch { features: 4, labels: 3 }),
            "{name}"
        );
    }
    let features = Tensor::<2>::zeros([5, 3], &device);
    assert_eq!(
        HardClusterMiner.mine(features, &[0, 0, 1, 1, 1]).err(),
        Some(MinerError::Unbalanced { label: 1, count: 3, expected: 2 })
    );
    assert!(NHardTripletsMiner::new(HardestRange::First(0), HardestRange::First(1)).is_err());
    assert!(
        NHardTripletsMiner::new(HardestRange::First(1), HardestRange::Between { from: 3, to: 2 })
            .is_err()
    );
}

struct BoxedMiner(Box<dyn TripletMiner>);

impl TripletMiner for BoxedMiner {
    fn mine_checked(
        &self,
        features: &Tensor<2>,
        labels: &[u32],
    ) -> Result<oml_core::miner::Triplets, MinerError> {
        self.0.mine_checked(features, labels)
    }
}

/// Features whose first column is the label, so that triplets can be checked from features.
fn labelled_features(labels: &[u32], salt: f32) -> Tensor<2> {
    let data: Vec<f32> =
        labels.iter().enumerate().flat_map(|(i, &l)| [l as f32, salt + i as f32, 1.0]).collect();
    Tensor::<2>::from_data(burn::tensor::TensorData::new(data, [labels.len(), 3]), &Device::flex())
}

#[test]
fn memory_miner_mixes_batch_and_bank_triplets() {
    let miner = TripletMinerWithMemory::new(2, 3, 7).unwrap();
    let (p, k) = (3, 2);
    let all = p * k * (k - 1) * (p - 1) * k;
    for call in 0..4u32 {
        // Labels 10.. differ between calls, so bank rows are recognisable.
        let labels: Vec<u32> =
            (0..p * k).map(|i| 10 * (call + 1) + u32::try_from(i / k).unwrap()).collect();
        let t = miner.mine(labelled_features(&labels, 100.0 * call as f32), &labels).unwrap();
        let column = |m: &Tensor<2>| -> Vec<f32> {
            m.clone().slice([0..m.dims()[0], 0..1]).try_into_vec_as::<f32>().unwrap()
        };
        let (a, pos, neg) = (column(&t.anchor), column(&t.positive), column(&t.negative));
        let n = a.len();
        assert!(
            n >= all && n <= all * 3,
            "call {call}: {n} triplets for {all} batch triplets, expand 3"
        );
        // The last `all` triplets are the batch's own, and flagged so (OML's is_original_tri).
        let orig = t.is_original.clone().expect("the memory miner flags its triplets");
        assert_eq!(orig.len(), n);
        assert!(orig[..n - all].iter().all(|o| !o) && orig[n - all..].iter().all(|o| *o));
        for i in n - all..n {
            assert!(labels.contains(&(a[i] as u32)) && labels.contains(&(neg[i] as u32)));
        }
        if call >= 2 {
            // The bank holds two real batches now: its triplets are valid too.
            for i in 0..n {
                assert_eq!(a[i], pos[i], "call {call} triplet {i}: positive has another label");
                assert_ne!(
                    a[i], neg[i],
                    "call {call} triplet {i}: negative has the anchor's label"
                );
            }
            assert!(n > all, "bank triplets are added");
        }
    }
    let err = miner.mine(labelled_features(&[1, 1, 2, 2], 0.0), &[1, 1, 2, 2]).unwrap_err();
    assert_eq!(err, MinerError::BatchSizeChanged { expected: 6, got: 4 });
}

/// `TripletLossWithMiner` with the memory miner logs the batch's and the bank's triplets apart
/// (OML's orig_/bank_ logs); with no bank triplets the original part equals the plain logs.
#[test]
fn memory_miner_logs_split_original_and_bank_triplets() {
    use oml_core::loss::{TripletLossConfig, TripletLossWithMiner};
    let loss = |k: usize| {
        TripletLossWithMiner::new(
            TripletLossConfig::new().with_margin(Some(0.5)).with_need_logs(true).init().unwrap(),
            TripletMinerWithMemory::new(2, k, 3).unwrap(),
        )
    };
    let (features, labels) = batch(3, 2, 5);
    let out = loss(1).forward(features.clone(), &labels).unwrap();
    let (logs, bank) = (out.logs.unwrap(), out.bank_logs.unwrap());
    assert!((bank.orig_active_tri - logs.active_tri).abs() < 1e-6);
    assert!((bank.pos_dist_orig - logs.pos_dist).abs() < 1e-5);
    assert!((bank.neg_dist_orig - logs.neg_dist).abs() < 1e-5);
    assert!(bank.bank_active_tri.is_nan(), "no bank triplets with tri_expand_k = 1");
    let with_bank = loss(3);
    for call in 0..3 {
        let (features, labels) = batch(3, 2, 10 + call);
        let bank = with_bank.forward(features, &labels).unwrap().bank_logs.unwrap();
        if call >= 1 {
            assert!((0.0..=1.0).contains(&bank.bank_active_tri), "{bank:?}");
            assert!(bank.pos_dist_bank.is_finite() && bank.neg_dist_bank.is_finite(), "{bank:?}");
        }
    }
}

#[test]
fn miners_are_chosen_by_config() {
    use oml_core::miner::MinerConfig;
    let parse = |json: &str| serde_json::from_str::<MinerConfig>(json);
    assert_eq!(
        parse(r#"{"name": "n_hard_triplets", "n_positive": [2, 5], "n_negative": 3}"#).unwrap(),
        MinerConfig::NHardTriplets {
            n_positive: HardestRange::Between { from: 2, to: 5 },
            n_negative: HardestRange::First(3)
        }
    );
    assert_eq!(
        parse(r#"{"name": "all_triplets"}"#).unwrap(),
        MinerConfig::AllTriplets { max_output_triplets: None, seed: 0 }
    );
    let err = parse(r#"{"name": "hard_triplets", "margin": 1}"#).unwrap_err().to_string();
    assert!(err.contains("margin"), "unknown keys are named: {err}");
    assert!(
        parse(r#"{"name": "with_memory", "bank_size_in_batches": 2}"#)
            .unwrap_err()
            .to_string()
            .contains("tri_expand_k")
    );
    let (features, labels) = batch(3, 3, 9);
    for json in [
        r#"{"name": "all_triplets", "max_output_triplets": 10}"#,
        r#"{"name": "hard_triplets"}"#,
        r#"{"name": "n_hard_triplets"}"#,
        r#"{"name": "hard_cluster"}"#,
        r#"{"name": "with_bank", "bank_size_in_batches": 2}"#,
        r#"{"name": "with_memory", "bank_size_in_batches": 2, "tri_expand_k": 2}"#,
    ] {
        let miner = parse(json).unwrap().init().unwrap();
        let t = miner.mine(features.clone(), &labels).unwrap();
        assert!(t.anchor.dims()[0] > 0, "{json}");
        assert_eq!(t.anchor.dims(), t.negative.dims());
    }
    assert!(parse(r#"{"name": "n_hard_triplets", "n_positive": 0}"#).unwrap().init().is_err());
    // OML's registry names of the two memory miners.
    assert_eq!(
        parse(r#"{"name": "miner_with_bank", "bank_size_in_batches": 2}"#).unwrap(),
        parse(r#"{"name": "with_bank", "bank_size_in_batches": 2}"#).unwrap()
    );
    assert_eq!(
        parse(r#"{"name": "triplets_with_memory", "bank_size_in_batches": 2, "tri_expand_k": 3}"#)
            .unwrap(),
        MinerConfig::WithMemory { bank_size_in_batches: 2, tri_expand_k: 3, seed: 0 }
    );
}

/// Euclidean distance between rows `i` and `j`.
fn dist(rows: &[Vec<f32>], i: usize, j: usize) -> f32 {
    rows[i].iter().zip(&rows[j]).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt()
}

/// Cross-domain mining: every positive and negative is of another domain than the anchor;
/// batch-hard picks the farthest such positive and the nearest such negative; all-triplets
/// yields every such triplet; other miners refuse.
#[test]
fn cross_domain_mining_pairs_only_across_domains() {
    for (p, k, seed) in [(3, 2, 5), (4, 4, 6), (8, 3, 7)] {
        let (features, labels) = batch(p, k, seed);
        // Two or three domains, spread over each label's rows.
        let n_domains = if k == 3 { 3 } else { 2 };
        let mut seen = std::collections::HashMap::<u32, u32>::new();
        let domains: Vec<u32> = labels
            .iter()
            .map(|l| {
                let c = seen.entry(*l).or_default();
                *c += 1;
                *c % n_domains
            })
            .collect();
        let rows: Vec<Vec<f32>> = features
            .clone()
            .try_into_vec_as::<f32>()
            .unwrap()
            .chunks(6)
            .map(<[f32]>::to_vec)
            .collect();
        let across = |a: usize, j: usize| domains[a] != domains[j];
        let n = labels.len();

        let hard = HardTripletsMiner.sample_across(&features, &labels, &domains).unwrap();
        assert_eq!(hard.len(), n, "every anchor has a positive and a negative across");
        for i in 0..hard.len() {
            let (a, pos, neg) = (hard.anchor[i], hard.positive[i], hard.negative[i]);
            assert!(across(a, pos) && across(a, neg));
            assert_eq!(labels[a], labels[pos]);
            assert_ne!(labels[a], labels[neg]);
            for j in (0..n).filter(|&j| across(a, j)) {
                if labels[j] == labels[a] {
                    assert!(dist(&rows, a, j) <= dist(&rows, a, pos) + 1e-5, "farthest positive");
                } else {
                    assert!(dist(&rows, a, j) >= dist(&rows, a, neg) - 1e-5, "nearest negative");
                }
            }
        }

        let all = AllTripletsMiner::default().sample_across(&features, &labels, &domains).unwrap();
        let expected: usize = (0..n)
            .map(|a| {
                let pos = (0..n).filter(|&j| across(a, j) && labels[j] == labels[a]).count();
                let neg = (0..n).filter(|&j| across(a, j) && labels[j] != labels[a]).count();
                pos * neg
            })
            .sum();
        assert_eq!(all.len(), expected);
        for i in 0..all.len() {
            assert!(
                across(all.anchor[i], all.positive[i]) && across(all.anchor[i], all.negative[i])
            );
        }
        // The same through the trait object a config makes.
        let mined = HardTripletsMiner.mine_across(features.clone(), &labels, &domains).unwrap();
        assert_eq!(mined.anchor.dims(), [n, 6]);
    }
    let (features, labels) = batch(3, 2, 8);
    let one_domain = vec![0; labels.len()];
    assert_eq!(
        HardTripletsMiner.sample_across(&features, &labels, &one_domain).err(),
        Some(MinerError::NoTripletAcrossDomains)
    );
    assert_eq!(
        AllTripletsMiner::default().sample_across(&features, &labels, &one_domain).err(),
        Some(MinerError::NoTripletAcrossDomains)
    );
    assert_eq!(
        HardTripletsMiner.sample_across(&features, &labels, &[0, 1]).err(),
        Some(MinerError::DomainsMismatch { domains: 2, labels: 6 })
    );
    let nhard = NHardTripletsMiner::new(HardestRange::First(1), HardestRange::First(1)).unwrap();
    let domains: Vec<u32> = (0..6).map(|i| i % 2).collect();
    assert_eq!(
        nhard.sample_across(&features, &labels, &domains).err(),
        Some(MinerError::NoCrossDomain)
    );
}

/// `cross_domain = true` in a criterion config needs a miner that can mine across domains,
/// and the loss then mines across.
#[test]
fn a_cross_domain_criterion_needs_a_capable_miner() {
    use oml_core::loss::TripletLossWithMinerConfig;
    let parse = |json: &str| serde_json::from_str::<TripletLossWithMinerConfig>(json).unwrap();
    let bad =
        parse(r#"{"margin": 0.2, "miner": {"name": "n_hard_triplets"}, "cross_domain": true}"#);
    let err = bad.init().err().unwrap().to_string();
    assert!(err.contains("cannot mine across domains"), "{err}");
    let good =
        parse(r#"{"margin": 0.2, "miner": {"name": "hard_triplets"}, "cross_domain": true}"#);
    let loss = good.init().unwrap();
    let (features, labels) = batch(4, 2, 3);
    let one_domain = vec![0; labels.len()];
    assert!(loss.forward_across(features.clone(), &labels, &one_domain).is_err());
    let mut seen = std::collections::HashSet::new();
    let domains: Vec<u32> = labels.iter().map(|l| u32::from(!seen.insert(*l))).collect();
    let out = loss.forward_across(features, &labels, &domains).unwrap();
    assert!(out.loss.into_scalar::<f32>().is_finite());
}
