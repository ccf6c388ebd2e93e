//! PML's miners against pytorch-metric-learning 2.8.1 itself: the triplets TripletMarginMiner
//! and BatchEasyHardMiner pick, the pairs MultiSimilarityMiner and PairMarginMiner pick, and the
//! pair losses' values and gradients over those pairs, from `tests/fixtures/pml/pml_miners.json`
//! (made by `make_miners.py` beside it), on the CPU and on a wgpu adapter when there is one.
#![allow(clippy::unwrap_used)]

use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{
    CircleLossConfig, ContrastiveLossConfig, MarginLossConfig, MultiSimilarityLossConfig,
    NtXentLossConfig, PairLoss,
};
use oml_core::miner::{
    BatchEasyHardMiner, MinedPairs, PairMinerConfig, TripletMarginMiner, TripletMiner, Triplets,
};
use serde_json::{Value, json};

#[path = "../../../tests/support/test_devices.rs"]
mod test_devices;

fn fixture() -> Value {
    let path = format!("{}/../../tests/fixtures/pml/pml_miners.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
        .collect()
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

/// The fixture's batch on `device` (an autodiff device: the rows require gradients).
fn batch(f: &Value, device: &Device) -> (Tensor<2>, Vec<u32>) {
    let labels: Vec<u32> = indices(&f["labels"]).into_iter().map(|l| l as u32).collect();
    let data = floats(&f["embeddings"]);
    let shape = [labels.len(), data.len() / labels.len()];
    let device = device.clone().autodiff();
    (Tensor::<2>::from_data(TensorData::new(data, shape), &device).require_grad(), labels)
}

/// A config value, with the fixture's parameters merged over `{"name": name}`.
fn config<T: serde::de::DeserializeOwned>(name: &str, params: &Value) -> T {
    let mut v = json!({ "name": name });
    for (k, x) in params.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn param<T: serde::de::DeserializeOwned>(params: &Value, key: &str) -> T {
    serde_json::from_value(params[key].clone()).unwrap()
}

#[test]
fn triplet_miners_pick_pmls_triplets() {
    let f = fixture();
    for device in test_devices::test_devices() {
        let (x, labels) = batch(&f, &device);
        for case in f["triplet_miners"].as_array().unwrap() {
            let params = &case["params"];
            let range = |k: &str| params.get(k).map(|r| serde_json::from_value(r.clone()).unwrap());
            let miner: Box<dyn TripletMiner> = match case["name"].as_str().unwrap() {
                "triplet_margin" => Box::new(TripletMarginMiner {
                    margin: params["margin"].as_f64().unwrap() as f32,
                    type_of_triplets: param(params, "type_of_triplets"),
                }),
                _ => Box::new(
                    BatchEasyHardMiner::new(
                        param(params, "pos_strategy"),
                        param(params, "neg_strategy"),
                        range("allowed_pos_range"),
                        range("allowed_neg_range"),
                    )
                    .unwrap(),
                ),
            };
            let got = miner.sample(&x, &labels).unwrap();
            let t = &case["triplets"];
            let want = Triplets {
                anchor: indices(&t[0]),
                positive: indices(&t[1]),
                negative: indices(&t[2]),
            };
            assert_eq!(got, want, "{} {params}", case["name"]);
        }
    }
}

fn pairs_of(mined: &MinedPairs, pos: bool) -> Vec<(usize, usize)> {
    let flags = if pos { &mined.pos } else { &mined.neg };
    let b = mined.batch;
    (0..b * b).filter(|&i| flags[i]).map(|i| (i / b, i % b)).collect()
}

fn want_pairs(v: &Value) -> Vec<(usize, usize)> {
    let mut p: Vec<_> = indices(&v[0]).into_iter().zip(indices(&v[1])).collect();
    p.sort_unstable();
    p
}

#[test]
fn pair_miners_pick_pmls_pairs_and_losses_over_them_match() {
    let f = fixture();
    for device in test_devices::test_devices() {
        let on = test_devices::device_name(&device);
        let (x, labels) = batch(&f, &device);
        for case in f["pair_miners"].as_array().unwrap() {
            let miner: PairMinerConfig = config(case["name"].as_str().unwrap(), &case["params"]);
            let mined = miner.init().unwrap().mine_pairs(&x, &labels).unwrap();
            assert_eq!(pairs_of(&mined, true), want_pairs(&case["pos"]), "{on} {case}");
            assert_eq!(pairs_of(&mined, false), want_pairs(&case["neg"]), "{on} {case}");
        }
        for case in f["mined_losses"].as_array().unwrap() {
            let (x, labels) = batch(&f, &device);
            let miner: PairMinerConfig =
                config(case["miner"].as_str().unwrap(), &case["miner_params"]);
            let mined = miner.init().unwrap().mine_pairs(&x, &labels).unwrap();
            let loss: Box<dyn PairLoss> = match case["loss"].as_str().unwrap() {
                "contrastive" => Box::new(ContrastiveLossConfig::new().init().unwrap()),
                "multi_similarity" => Box::new(MultiSimilarityLossConfig::new().init().unwrap()),
                "ntxent" => Box::new(NtXentLossConfig::new().init().unwrap()),
                "margin" => Box::new(MarginLossConfig::new().init().unwrap()),
                _ => Box::new(CircleLossConfig::new().init().unwrap()),
            };
            let what =
                format!("{on} {} with {} {}", case["loss"], case["miner"], case["miner_params"]);
            let value = loss.forward_pairs(x.clone(), &labels, &mined).unwrap();
            let got = value.clone().try_into_vec_as::<f32>().unwrap()[0];
            let want = case["value"].as_f64().unwrap() as f32;
            assert!((got - want).abs() <= 1e-4 * want.abs() + 1e-6, "{what}: {got} vs PML {want}");
            let grads = value.backward();
            let grad = x.grad(&grads).map_or_else(
                || vec![0.0; x.dims()[0] * x.dims()[1]],
                |g| g.try_into_vec_as::<f32>().unwrap(),
            );
            let want = floats(&case["grad_embeddings"]);
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (g, w)) in grad.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * w.abs() + 1e-5 * scale,
                    "{what} grad[{i}]: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn bad_miner_settings_are_refused() {
    assert!(
        BatchEasyHardMiner::new(
            oml_core::miner::Strategy::Semihard,
            oml_core::miner::Strategy::Semihard,
            None,
            None
        )
        .is_err()
    );
    let bad = PairMinerConfig::MultiSimilarity { epsilon: f32::NAN };
    assert!(bad.init().is_err());
    let unknown =
        serde_json::from_value::<PairMinerConfig>(json!({"name": "pair_margin", "margin": 1}));
    assert!(unknown.unwrap_err().to_string().contains("margin"));
}
