//! Bad loss parameters and inputs are errors that say what is wrong, never panics.
#![allow(clippy::unwrap_used)]

use burn::tensor::{Device, Tensor};
use oml_core::loss::{
    ArcFaceLossConfig, LossError, SurrogatePrecisionConfig, TripletLossConfig, TripletLossPlain,
    TripletLossWithMiner,
};
use oml_core::miner::{HardTripletsMiner, MinerError};

#[test]
fn triplet_margin_must_be_positive() {
    for margin in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let err = TripletLossConfig::new().with_margin(Some(margin)).init().unwrap_err();
        assert!(matches!(err, LossError::BadMargin(_)), "{margin}: {err}");
        assert!(err.to_string().contains("margin must be positive"), "{err}");
    }
    assert!(TripletLossConfig::new().init().is_ok(), "no margin = soft margin");
}

#[test]
fn surrogate_precision_needs_k_and_positive_temperatures() {
    assert_eq!(SurrogatePrecisionConfig::new(0).init().unwrap_err(), LossError::ZeroK);
    let err = SurrogatePrecisionConfig::new(3).with_temperature2(0.0).init().unwrap_err();
    assert_eq!(err, LossError::NotPositive { name: "temperature2", value: 0.0 });
    let device = Device::flex();
    let loss = SurrogatePrecisionConfig::new(3).init().unwrap();
    assert!(matches!(
        loss.forward(Tensor::<2>::zeros([4, 2], &device), &[0, 0, 1]),
        Err(LossError::Shape { .. })
    ));
}

#[test]
fn arcface_checks_its_parameters_and_labels() {
    let device = Device::flex();
    for eps in [-0.1, 1.0] {
        let err =
            ArcFaceLossConfig::new(4, 3).with_smoothing_epsilon(eps).init(&device).unwrap_err();
        assert_eq!(err, LossError::BadSmoothing(eps));
    }
    assert!(matches!(
        ArcFaceLossConfig::new(4, 3).with_s(0.0).init(&device),
        Err(LossError::NotPositive { name: "s", .. })
    ));
    let err = ArcFaceLossConfig::new(4, 3)
        .with_label2category(Some(vec![0, 1]))
        .init(&device)
        .unwrap_err();
    assert_eq!(err, LossError::CategoryCount { got: 2, num_classes: 3 });

    let loss = ArcFaceLossConfig::new(4, 3).init(&device).unwrap();
    let x = Tensor::<2>::ones([2, 4], &device);
    let err = loss.forward(x.clone(), &[0, 3]).unwrap_err();
    assert_eq!(err, LossError::LabelOutOfRange { label: 3, num_classes: 3 });
    assert!(err.to_string().contains("label 3 is outside 0..3"), "{err}");
    assert!(matches!(loss.forward(x, &[0]), Err(LossError::Shape { .. })));
    assert!(matches!(
        loss.forward(Tensor::<2>::ones([2, 5], &device), &[0, 1]),
        Err(LossError::Shape { .. })
    ));
}

#[test]
fn triplet_plain_needs_rows_in_threes() {
    let plain = TripletLossPlain { loss: TripletLossConfig::new().init().unwrap() };
    let err = plain.forward(Tensor::<2>::zeros([4, 2], &Device::flex())).unwrap_err();
    assert_eq!(err, LossError::NotTriplets(4));
}

#[test]
fn a_miner_error_reaches_the_loss_caller() {
    let loss =
        TripletLossWithMiner::new(TripletLossConfig::new().init().unwrap(), HardTripletsMiner);
    let err = loss.forward(Tensor::<2>::zeros([3, 2], &Device::flex()), &[0, 0, 1]).unwrap_err();
    assert_eq!(err, LossError::Miner(MinerError::SingletonLabel { label: 1 }));
    assert!(err.to_string().contains("label 1 occurs once"), "{err}");
}

#[test]
fn triplet_loss_with_miner_reads_from_a_config_file() {
    use oml_core::loss::TripletLossWithMinerConfig;
    let c: TripletLossWithMinerConfig =
        serde_json::from_str(r#"{"margin": 0.1, "miner": {"name": "hard_triplets"}}"#).unwrap();
    let loss = c.init().unwrap();
    let out = loss.forward(Tensor::<2>::ones([4, 2], &Device::flex()), &[0, 0, 1, 1]).unwrap();
    assert_eq!(out.loss.dims(), [1]);
    let default: TripletLossWithMinerConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(
        default.miner,
        oml_core::miner::MinerConfig::AllTriplets { max_output_triplets: None, seed: 0 }
    );
    assert!(serde_json::from_str::<TripletLossWithMinerConfig>(r#"{"margn": 1}"#).is_err());
    let bad: TripletLossWithMinerConfig = serde_json::from_str(r#"{"margin": -1}"#).unwrap();
    assert!(matches!(bad.init(), Err(LossError::BadMargin(_))));
}
