//! The pair-based losses against pytorch-metric-learning 2.8.1 itself: values and gradients
//! with respect to the embeddings from `tests/fixtures/pml/pml_losses.json` (made by
//! `make_losses.py` beside it), PML's defaults and other parameters, on batches with repeated
//! labels, a lone label, and one label only; within 1e-4 relative, on the CPU and on a wgpu
//! adapter when there is one.
#![allow(clippy::unwrap_used)]

use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{
    CircleLossConfig, ContrastiveLossConfig, MarginLossConfig, MultiSimilarityLossConfig,
    NtXentLossConfig, PairLoss, ProxyAnchorLossConfig,
};
use serde_json::Value;

#[path = "../../../tests/support/test_devices.rs"]
mod test_devices;

fn fixture() -> Value {
    let path = format!("{}/../../tests/fixtures/pml/pml_losses.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The loss a case names, with its parameters over our defaults.
fn build(case: &Value) -> Box<dyn PairLoss> {
    let params = &case["params"];
    let get = |key: &str, default: f64| params.get(key).map_or(default, |v| v.as_f64().unwrap());
    match case["loss"].as_str().unwrap() {
        "contrastive" => {
            let c = ContrastiveLossConfig::new();
            let c = c.clone().with_pos_margin(get("pos_margin", c.pos_margin));
            Box::new(c.clone().with_neg_margin(get("neg_margin", c.neg_margin)).init().unwrap())
        }
        "multi_similarity" => {
            let c = MultiSimilarityLossConfig::new();
            let c = c.clone().with_alpha(get("alpha", c.alpha)).with_beta(get("beta", c.beta));
            Box::new(c.clone().with_base(get("base", c.base)).init().unwrap())
        }
        "ntxent" => {
            let c = NtXentLossConfig::new();
            Box::new(c.clone().with_temperature(get("temperature", c.temperature)).init().unwrap())
        }
        "circle" => {
            let c = CircleLossConfig::new();
            Box::new(
                c.clone().with_m(get("m", c.m)).with_gamma(get("gamma", c.gamma)).init().unwrap(),
            )
        }
        "margin" => {
            let c = MarginLossConfig::new();
            Box::new(
                c.clone()
                    .with_margin(get("margin", c.margin))
                    .with_beta(get("beta", c.beta))
                    .init()
                    .unwrap(),
            )
        }
        other => panic!("no loss {other}"),
    }
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
        .collect()
}

/// |got − want| ≤ 1e-4·|want| + 1e-5·max|want| elementwise.
fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * w.abs() + 1e-5 * scale, "{what}[{i}]: {g} vs PML {w}");
    }
}

fn check_on(device: &Device, case: &Value) {
    let name =
        format!("{} on {}", case["name"].as_str().unwrap(), test_devices::device_name(device));
    let labels: Vec<u32> =
        case["labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as u32).collect();
    let data = floats(&case["embeddings"]);
    let shape = [labels.len(), data.len() / labels.len()];
    let x = Tensor::<2>::from_data(TensorData::new(data, shape), &device.clone().autodiff())
        .require_grad();
    let loss = build(case).forward(x.clone(), &labels).unwrap();
    let value = loss.clone().try_into_vec_as::<f32>().unwrap()[0];
    assert_close(&[value], &[case["value"].as_f64().unwrap() as f32], &format!("{name} value"));
    let grads = loss.backward();
    let grad = x
        .grad(&grads)
        .map_or_else(|| vec![0.0; shape[0] * shape[1]], |g| g.try_into_vec_as::<f32>().unwrap());
    assert_close(&grad, &floats(&case["grad_embeddings"]), &format!("{name} grad"));
}

#[test]
fn pair_losses_match_pml_values_and_gradients() {
    let f = fixture();
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 36);
    for device in test_devices::test_devices() {
        for case in cases.iter().filter(|c| c["loss"] != "proxy_anchor") {
            check_on(&device, case);
        }
    }
}

/// Proxy-Anchor: value and gradients with respect to the embeddings and to the proxies, from
/// the proxies PML drew.
#[test]
fn proxy_anchor_matches_pml_values_and_gradients() {
    let f = fixture();
    let cases: Vec<&Value> =
        f["cases"].as_array().unwrap().iter().filter(|c| c["loss"] == "proxy_anchor").collect();
    assert_eq!(cases.len(), 6);
    for device in test_devices::test_devices() {
        let device = device.autodiff();
        for case in &cases {
            let name = format!("{} on {}", case["name"], test_devices::device_name(&device));
            let labels: Vec<u32> = case["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_u64().unwrap() as u32)
                .collect();
            let (data, proxies) = (floats(&case["embeddings"]), floats(&case["proxies"]));
            let n_classes = case["proxies"].as_array().unwrap().len();
            let params = &case["params"];
            let get = |k: &str, d: f64| params.get(k).map_or(d, |v| v.as_f64().unwrap());
            let config = ProxyAnchorLossConfig::new(n_classes, 8);
            let loss_fn = config
                .clone()
                .with_margin(get("margin", config.margin))
                .with_alpha(get("alpha", config.alpha))
                .init(&device)
                .unwrap()
                .with_proxies(Tensor::from_data(TensorData::new(proxies, [n_classes, 8]), &device))
                .unwrap();
            let x = Tensor::<2>::from_data(TensorData::new(data, [labels.len(), 8]), &device)
                .require_grad();
            let loss = loss_fn.forward(x.clone(), &labels).unwrap();
            let value = loss.clone().try_into_vec_as::<f32>().unwrap()[0];
            assert_close(
                &[value],
                &[case["value"].as_f64().unwrap() as f32],
                &format!("{name} value"),
            );
            let grads = loss.backward();
            let gx = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
            assert_close(&gx, &floats(&case["grad_embeddings"]), &format!("{name} grad"));
            let gp = loss_fn.proxies.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
            assert_close(&gp, &floats(&case["grad_proxies"]), &format!("{name} proxies grad"));
        }
    }
    assert!(ProxyAnchorLossConfig::new(0, 8).init(&Device::flex()).is_err());
    let loss = ProxyAnchorLossConfig::new(3, 2).init(&Device::flex()).unwrap();
    let x = Tensor::<2>::zeros([2, 2], &Device::flex());
    assert!(loss.forward(x, &[0, 3]).is_err(), "class 3 of 3");
}

#[test]
fn bad_parameters_are_refused() {
    assert!(NtXentLossConfig::new().with_temperature(0.0).init().is_err());
    assert!(CircleLossConfig::new().with_gamma(-1.0).init().is_err());
    assert!(MultiSimilarityLossConfig::new().with_beta(f64::NAN).init().is_err());
    assert!(ContrastiveLossConfig::new().with_neg_margin(f64::INFINITY).init().is_err());
    let x = Tensor::<2>::zeros([3, 2], &Device::flex());
    assert!(CircleLossConfig::new().init().unwrap().forward(x, &[0, 1]).is_err());
}
