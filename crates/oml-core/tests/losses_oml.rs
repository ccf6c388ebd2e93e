//! Losses and miners against OML 4.0.0 itself: values and gradients with respect to the
//! embeddings from `tests/fixtures/oml-losses/oml_losses.json` (made by `make_fixtures.py`
//! beside it), within 1e-4 relative, on the CPU and on a wgpu adapter (each test runs once per
//! device of `test_devices`, which `device()` hands out).
#![allow(clippy::unwrap_used)]

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{
    ArcFaceLossConfig, ArcFaceLossWithMlpConfig, Reduction, SurrogatePrecisionConfig,
    TripletLossConfig, TripletLossPlain, TripletLossWithMiner,
};
use oml_core::miner::{
    AllTripletsMiner, HardClusterMiner, HardTripletsMiner, HardestRange, MinerWithBank,
    NHardTripletsMiner, TripletMiner,
};
use serde_json::Value;

fn fixture() -> Value {
    let path = &format!("{}/../../tests/fixtures/oml-losses/oml_losses.json", manifest_dir());
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn matrix(v: &Value) -> (Vec<f32>, [usize; 2]) {
    let rows = v.as_array().unwrap();
    let cols = rows[0].as_array().unwrap().len();
    let data = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
        .collect();
    (data, [rows.len(), cols])
}

fn labels(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| u32::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

fn case<'a>(f: &'a Value, name: &str) -> &'a Value {
    f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// The cases whose name starts with `prefix`.
fn cases_named<'a>(f: &'a Value, prefix: &'a str) -> impl Iterator<Item = &'a Value> {
    f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(move |c| c["name"].as_str().unwrap().starts_with(prefix))
}

#[path = "../../../tests/support/test_devices.rs"]
mod test_devices;

thread_local! {
    static DEVICE: std::cell::RefCell<Device> = std::cell::RefCell::new(Device::flex());
}

/// The device the running test is on, with autodiff.
fn device() -> Device {
    DEVICE.with(|d| d.borrow().clone()).autodiff()
}

/// Runs `test` on the CPU, then on the wgpu adapter if there is one.
fn on_each_device(test: impl Fn()) {
    for d in test_devices::test_devices() {
        DEVICE.with(|current| *current.borrow_mut() = d);
        test();
    }
}

/// Leaf tensor with gradient tracking.
fn leaf(data: &[f32], shape: [usize; 2]) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(data.to_vec(), shape), &device()).require_grad()
}

fn scalar(t: &Tensor<1>) -> f64 {
    f64::from(t.clone().try_into_vec_as::<f32>().unwrap()[0])
}

/// |got − want| ≤ 1e-4·|want| + 1e-6·max|want| elementwise.
fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let on = test_devices::device_name(&device());
        assert!(
            (g - w).abs() <= 1e-4 * w.abs() + 1e-6 * scale,
            "{on}, {what}[{i}]: {g} vs OML {w}"
        );
    }
}

fn check(c: &Value, loss: &Tensor<1>, x: &Tensor<2>) {
    let name = c["name"].as_str().unwrap();
    let want = c["loss"].as_f64().unwrap() as f32;
    assert_close(&[scalar(loss) as f32], &[want], &format!("{name} loss"));
    let grads = loss.backward();
    let grad = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
    assert_close(&grad, &matrix(&c["grad_embeddings"]).0, &format!("{name} grad"));
}

#[test]
fn triplet_with_miners_match_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        let y = labels(&f["labels"]);
        for (margin, tag) in [(Some(0.2), "0.2"), (None, "None")] {
            for (reduction, rtag) in [(Reduction::Mean, "mean"), (Reduction::Sum, "sum")] {
                let loss = TripletLossConfig::new()
                    .with_margin(margin)
                    .with_reduction(reduction)
                    .with_need_logs(true)
                    .init()
                    .unwrap();
                let hard = TripletLossWithMiner::new(loss.clone(), HardTripletsMiner);
                let x = leaf(&emb, shape);
                let out = hard.forward(x.clone(), &y).unwrap();
                let c = case(&f, &format!("triplet_hard_margin{tag}_{rtag}"));
                let logs = out.logs.unwrap();
                for (ours, key) in [
                    (logs.active_tri, "active_tri"),
                    (logs.pos_dist, "pos_dist"),
                    (logs.neg_dist, "neg_dist"),
                ] {
                    let want = c["logs"][key].as_f64().unwrap() as f32;
                    assert_close(&[ours as f32], &[want], key);
                }
                check(c, &out.loss, &x);

                let all = TripletLossWithMiner::new(loss, AllTripletsMiner::default());
                let x = leaf(&emb, shape);
                let out = all.forward(x.clone(), &y).unwrap();
                check(case(&f, &format!("triplet_all_margin{tag}_{rtag}")), &out.loss, &x);
            }
        }
    });
}

#[test]
fn hard_miner_picks_oml_triplets() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        let t = HardTripletsMiner.sample(&leaf(&emb, shape), &labels(&f["labels"])).unwrap();
        let want = &f["hard_triplets"];
        let ids = |v: &Value| -> Vec<usize> { labels(v).into_iter().map(|i| i as usize).collect() };
        assert_eq!(t.anchor, ids(&want["anchor"]));
        assert_eq!(t.positive, ids(&want["positive"]));
        assert_eq!(t.negative, ids(&want["negative"]));
    });
}

#[test]
fn plain_triplet_losses_match_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        for (margin, tag) in [(Some(0.5), "0.5"), (None, "None")] {
            let c = case(&f, &format!("triplet_plain_margin{tag}_none"));
            let ids =
                |k: &str| -> Vec<usize> { labels(&c[k]).into_iter().map(|i| i as usize).collect() };
            let loss = TripletLossConfig::new()
                .with_margin(margin)
                .with_reduction(Reduction::None)
                .init()
                .unwrap();
            let x = leaf(&emb, shape);
            let per = loss
                .forward_indices(x.clone(), &ids("anchor"), &ids("positive"), &ids("negative"))
                .loss;
            let want: Vec<f32> = c["per_triplet"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_close(&per.clone().try_into_vec_as::<f32>().unwrap(), &want, "per triplet");
            check(c, &per.sum(), &x);
        }
        let plain = TripletLossPlain {
            loss: TripletLossConfig::new().with_margin(Some(0.3)).init().unwrap(),
        };
        let x = leaf(&emb, shape);
        let out = plain.forward(x.clone()).unwrap();
        check(case(&f, "triplet_loss_plain_margin0.3"), &out.loss, &x);
    });
}

#[test]
fn arcface_matches_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        for name in [
            "arcface",
            "arcface_m0.3_s30",
            "arcface_smoothing0.1",
            "arcface_smoothing0.2_categories",
        ] {
            let c = case(&f, name);
            let p = &c["params"];
            let num_classes = usize::try_from(c["num_classes"].as_u64().unwrap()).unwrap();
            let mut config = ArcFaceLossConfig::new(shape[1], num_classes)
                .with_m(p["m"].as_f64().unwrap())
                .with_s(p["s"].as_f64().unwrap())
                .with_smoothing_epsilon(
                    p.get("smoothing_epsilon").and_then(Value::as_f64).unwrap_or(0.0),
                );
            if let Some(map) = p.get("label2category").and_then(Value::as_object) {
                // OML numbers categories by their sorted names.
                let mut names: Vec<&str> = map.values().map(|v| v.as_str().unwrap()).collect();
                names.sort_unstable();
                names.dedup();
                let cats = (0..num_classes)
                    .map(|k| {
                        u32::try_from(names.iter().position(|n| *n == map[&k.to_string()]).unwrap())
                            .unwrap()
                    })
                    .collect();
                config = config.with_label2category(Some(cats));
            }
            // Both formulations: `forward` (the fused operation on flex) and the tensor ops.
            for fused in [true, false] {
                let name = &format!("{name}{}", if fused { "" } else { " (tensor ops)" });
                let (w, w_shape) = matrix(&c["weight"]);
                let weight = Param::from_tensor(leaf(&w, w_shape));
                let loss = config.with_weight(weight).unwrap();
                let x = leaf(&emb, shape);
                let out = if fused {
                    loss.forward(x.clone(), &labels(&c["labels"])).unwrap()
                } else {
                    loss.forward_tensor_ops(x.clone(), &labels(&c["labels"])).unwrap()
                };
                assert!(
                    (out.accuracy - c["accuracy"].as_f64().unwrap()).abs() < 1e-6,
                    "{name} accuracy {} vs {}",
                    out.accuracy,
                    c["accuracy"]
                );
                let want = c["loss"].as_f64().unwrap() as f32;
                assert_close(&[scalar(&out.loss) as f32], &[want], &format!("{name} loss"));
                let grads = out.loss.backward();
                let gx = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
                assert_close(&gx, &matrix(&c["grad_embeddings"]).0, &format!("{name} grad x"));
                let gw = loss.weight.val().grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
                assert_close(&gw, &matrix(&c["grad_weight"]).0, &format!("{name} grad weight"));
            }
        }
    });
}

#[test]
fn surrogate_precision_matches_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        let y = labels(&f["labels"]);
        for c in cases_named(&f, "surrogate") {
            let config =
                SurrogatePrecisionConfig::new(usize::try_from(c["k"].as_u64().unwrap()).unwrap())
                    .with_temperature1(c["temperature1"].as_f64().unwrap())
                    .with_temperature2(c["temperature2"].as_f64().unwrap());
            let x = leaf(&emb, shape);
            let loss = config.init().unwrap().forward(x.clone(), &y).unwrap();
            check(c, &loss, &x);
        }
    });
}

fn hardest_range(v: &Value) -> HardestRange {
    match v {
        Value::Array(pair) => HardestRange::Between {
            from: usize::try_from(pair[0].as_u64().unwrap()).unwrap(),
            to: usize::try_from(pair[1].as_u64().unwrap()).unwrap(),
        },
        n => HardestRange::First(usize::try_from(n.as_u64().unwrap()).unwrap()),
    }
}

#[test]
fn n_hard_miner_matches_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        let y = labels(&f["labels"]);
        for c in cases_named(&f, "triplet_nhard") {
            let miner = NHardTripletsMiner::new(
                hardest_range(&c["n_positive"]),
                hardest_range(&c["n_negative"]),
            )
            .unwrap();
            let t = miner.sample(&leaf(&emb, shape), &y).unwrap();
            let ids = |k: &str| -> Vec<usize> {
                labels(&c["triplets"][k]).into_iter().map(|i| i as usize).collect()
            };
            assert_eq!(
                (t.anchor.clone(), t.positive.clone(), t.negative.clone()),
                (ids("anchor"), ids("positive"), ids("negative")),
                "{}",
                c["name"]
            );
            let loss = TripletLossWithMiner::new(
                TripletLossConfig::new().with_margin(Some(0.2)).init().unwrap(),
                miner,
            );
            let x = leaf(&emb, shape);
            let out = loss.forward(x.clone(), &y).unwrap();
            check(c, &out.loss, &x);
        }
    });
}

#[test]
fn hard_cluster_miner_matches_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        let loss = TripletLossWithMiner::new(
            TripletLossConfig::new().with_margin(Some(0.2)).init().unwrap(),
            HardClusterMiner,
        );
        let x = leaf(&emb, shape);
        let out = loss.forward(x.clone(), &labels(&f["labels"])).unwrap();
        check(case(&f, "triplet_hard_cluster_margin0.2"), &out.loss, &x);
    });
}

#[test]
fn arcface_with_mlp_matches_oml() {
    on_each_device(|| {
        let f = fixture();
        let (emb, shape) = matrix(&f["embeddings"]);
        let c = case(&f, "arcface_with_mlp");
        let arcface = ArcFaceLossConfig::new(4, 6);
        let config = ArcFaceLossWithMlpConfig::new(shape[1], vec![16, 4], arcface.clone());
        let mut loss = config.init(&device()).unwrap();
        // torch stores Linear weights as [out, in], burn as [in, out].
        for (layer, saved) in loss.mlp.iter_mut().zip(c["mlp"].as_array().unwrap()) {
            let (w, [out_dim, in_dim]) = matrix(&saved["weight"]);
            let w = Tensor::<2>::from_data(TensorData::new(w, [out_dim, in_dim]), &device())
                .transpose();
            layer.weight = Param::from_tensor(w.require_grad());
            let b: Vec<f32> = saved["bias"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            layer.bias = Some(Param::from_tensor(
                Tensor::<1>::from_data(TensorData::new(b, [out_dim]), &device()).require_grad(),
            ));
        }
        let (w, w_shape) = matrix(&c["weight"]);
        loss.arcface = arcface.with_weight(Param::from_tensor(leaf(&w, w_shape))).unwrap();
        let x = leaf(&emb, shape);
        let out = loss.forward(x.clone(), &labels(&c["labels"])).unwrap();
        check(c, &out.loss, &x);
    });
}

#[test]
fn miner_with_bank_matches_oml_over_batches() {
    on_each_device(|| {
        let f = fixture();
        let c = case(&f, "miner_with_bank_2_nhard_2_2");
        let miner =
            NHardTripletsMiner::new(HardestRange::First(2), HardestRange::First(2)).unwrap();
        let loss = TripletLossWithMiner::new(
            TripletLossConfig::new().with_margin(Some(0.2)).init().unwrap(),
            MinerWithBank::new(2, miner).unwrap(),
        );
        for (i, step) in c["steps"].as_array().unwrap().iter().enumerate() {
            let (emb, shape) = matrix(&step["embeddings"]);
            let x = leaf(&emb, shape);
            let out = loss.forward(x.clone(), &labels(&step["labels"])).unwrap();
            let mut named = step.clone();
            named["name"] = Value::from(format!("bank step {i}"));
            check(&named, &out.loss, &x);
        }
    });
}

/// The package's directory, read when the test runs: a test binary built from a clone at
/// another path (CI shares the target directory) must not look for fixtures there.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into())
}
