//! The setup phase of a run: data, sampler, image pipelines, model, criterion and optimizer,
//! then the state to start from (fresh, or read back from the last checkpoint).

use std::time::Instant;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{ArcFaceLossConfig, ArcFaceLossWithMlpConfig, ProxyAnchorLossConfig};
use oml_core::sampler::DynSampler;
use oml_models::extractor::{Extractor, freeze_depthwise_weights, freeze_paths};
use oml_models::model_file::FileModel;
use oml_models::zoo;

use super::average::WeightAverage;
use super::build::{
    augment, build_model, optimizer, preprocess, sampler, train_categories, train_domains,
};
use super::checkpoint::{self, TrainState};
use super::config::{BadImages, CriterionSection, TrainConfig};
use super::criterion::{self as crit, Trainee};
use super::data::{ImagePipeline, TrainData};
use super::log::forget_metrics_after;
use super::replica::Criterion;
use super::run::Run;
use super::validation::embed_valid;

/// What stays fixed through a run.
pub struct Setup {
    pub data: TrainData,
    pub sampler: DynSampler,
    pub train_pipeline: ImagePipeline,
    pub val_pipeline: ImagePipeline,
    /// L2-normalise embeddings (the config's choice, else the zoo entry's).
    pub normalise: bool,
    /// The device validation runs on; training runs on its autodiff twin.
    pub device: Device,
    pub train_device: Device,
    /// ArcFace's class id of each training row (the training labels, dense), and their number.
    pub classes: Vec<u32>,
    pub n_classes: usize,
    /// Each training row's domain, for cross-domain mining.
    pub domains: Option<Vec<u32>>,
    /// ArcFace's config, when that is the criterion.
    pub arcface: Option<ArcFaceLossConfig>,
    /// What the progress bar shows besides the loss (see [`Criterion::watched`]).
    pub watched: &'static str,
}

/// What changes step by step, and what a checkpoint keeps.
pub struct Progress {
    pub trainee: Trainee,
    pub optim: ModuleOptimizer,
    pub state: TrainState,
    /// The weight average, when `ema_decay` is set.
    pub average: Option<WeightAverage>,
}

impl Setup {
    /// Reads the data and builds everything the config names; returns the setup, the
    /// untrained trainee and the criterion.
    pub fn new(run: &Run) -> anyhow::Result<(Self, Trainee, Criterion)> {
        let config = &run.config;
        let entry = zoo::find(&config.extractor.model)?;
        let device = config.device.device()?;
        crate::device::check_precision(&device, config.precision)?;
        device.seed(config.seed);
        let root = run.base.join(&config.dataset_root);
        let skip_bad = config.bad_images == BadImages::Skip;
        let data = TrainData::load(&root.join(&config.dataframe), &root, skip_bad)?;
        let sampler = sampler(config, &data, &root)?;
        let val_pre = preprocess(entry, &config.transforms_val);
        let train_pre = preprocess(entry, &config.transforms_train);
        let train_device = device.clone().autodiff();
        let model = frozen(config, build_model(config, &run.base, entry, &train_device)?)?;
        let (classes, n_classes) = crit::class_ids(&data.train_labels);
        let domains = match &config.criterion {
            CriterionSection::TripletWithMiner(c) if c.cross_domain => Some(train_domains(&data)?),
            _ => None,
        };
        let label2category = |smooth: bool| -> anyhow::Result<Option<Vec<u32>>> {
            Ok(if smooth {
                Some(crit::class_categories(&classes, &train_categories(&data)?, n_classes))
            } else {
                None
            })
        };
        let (criterion, arcface) = match &config.criterion {
            CriterionSection::TripletWithMiner(c) => (Criterion::Triplet(c.init()?), None),
            CriterionSection::TripletPlain(t) => (Criterion::TripletPlain(t.init()?), None),
            CriterionSection::ArcFace(a) => {
                let categories = label2category(a.smooth_within_categories)?;
                let c = crit::arcface_config(a, model.feat_dim(), n_classes, categories);
                (Criterion::ArcFace, Some(c))
            }
            CriterionSection::ArcFaceWithMlp(a) => {
                let categories = label2category(a.smooth_within_categories)?;
                let last = a.mlp_features.last().copied().unwrap_or(0);
                let c = crit::arcface_config(&a.arcface(), last, n_classes, categories);
                (Criterion::ArcFaceWithMlp, Some(c))
            }
            CriterionSection::Pairs(p) => {
                let (loss, miner) = p.init().map_err(|e| anyhow::anyhow!("criterion: {e}"))?;
                (Criterion::Pairs(loss, miner), None)
            }
            CriterionSection::ProxyAnchor(_) => (Criterion::ProxyAnchor, None),
            CriterionSection::SurrogatePrecision(p) => {
                (Criterion::SurrogatePrecision(p.config().init()?), None)
            }
        };
        let mut trainee = Trainee::model_only(model);
        match (&config.criterion, &arcface) {
            (CriterionSection::ArcFaceWithMlp(a), Some(c)) => {
                let mlp = ArcFaceLossWithMlpConfig::new(
                    trainee.model.feat_dim(),
                    a.mlp_features.clone(),
                    c.clone(),
                );
                trainee.arcface_mlp = Some(mlp.init(&train_device)?);
            }
            (_, Some(c)) => trainee.arcface = Some(c.init(&train_device)?),
            (CriterionSection::ProxyAnchor(p), None) => {
                let proxies = ProxyAnchorLossConfig::new(n_classes, trainee.model.feat_dim())
                    .with_margin(p.margin)
                    .with_alpha(p.alpha)
                    .init(&train_device)?;
                trainee.proxies = Some(proxies);
            }
            _ => {}
        }
        let setup = Self {
            data,
            sampler,
            train_pipeline: ImagePipeline {
                preprocess: train_pre,
                augment: augment(&config.transforms_train, &train_pre),
                seed: config.seed,
            },
            val_pipeline: ImagePipeline { preprocess: val_pre, augment: None, seed: config.seed },
            normalise: config.extractor.normalise_features.unwrap_or(entry.normalise_features),
            device,
            train_device,
            classes,
            n_classes,
            domains,
            arcface,
            watched: criterion.watched(),
        };
        Ok((setup, trainee, criterion))
    }

    /// ArcFace's class weights or Proxy-Anchor's proxies imprinted from the mean embedding of
    /// each class's training images under `trainee`'s model (through the projector for
    /// `arcface_with_mlp`) when the criterion's `imprint` is on; `trainee` unchanged otherwise.
    pub fn imprint(&self, config: &TrainConfig, mut trainee: Trainee) -> anyhow::Result<Trainee> {
        let (criterion, what) = match &config.criterion {
            CriterionSection::ArcFace(a) if a.imprint => ("arcface", "class weights"),
            CriterionSection::ArcFaceWithMlp(a) if a.imprint => {
                ("arcface_with_mlp", "class weights")
            }
            CriterionSection::ProxyAnchor(p) if p.imprint => ("proxy_anchor", "proxies"),
            _ => return Ok(trainee),
        };
        let started = Instant::now();
        let train = &self.data.train;
        let (model, pipeline) = (&trainee.model, &self.val_pipeline);
        let mut e = embed_valid(model, train, pipeline, self.normalise, &self.device, 64)?;
        let mut dim = e.len() / train.len().max(1);
        if let Some(loss) = &trainee.arcface_mlp {
            let x = Tensor::<2>::from_data(TensorData::new(e, [train.len(), dim]), &self.device);
            let projected = loss.valid().project(x);
            dim = projected.dims()[1];
            e = projected.try_into_vec_as::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        let weight = crit::imprinted_weight(&e, dim, &self.classes, self.n_classes);
        let device = &self.train_device;
        if let (Some(c), Some(loss)) = (&self.arcface, trainee.arcface.take()) {
            trainee.arcface = Some(crit::with_weight(c, &loss, weight, device)?);
        } else if let (Some(c), Some(mut loss)) = (&self.arcface, trainee.arcface_mlp.take()) {
            loss.arcface = crit::with_weight(c, &loss.arcface, weight, device)?;
            trainee.arcface_mlp = Some(loss);
        } else if let Some(loss) = trainee.proxies.take() {
            let tensor =
                Tensor::<2>::from_data(TensorData::new(weight, [self.n_classes, dim]), device);
            trainee.proxies = Some(loss.with_proxies(tensor)?);
        }
        eprintln!(
            "{criterion}: {} {what} imprinted from {} images in {:.1} s",
            self.n_classes,
            train.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(trainee)
    }
}

/// The model with the config's frozen parts, each checked to name something.
fn frozen(config: &TrainConfig, mut model: FileModel) -> anyhow::Result<FileModel> {
    if config.extractor.freeze_depthwise {
        // Checked before anything runs; applied again after each epoch's (un)freeze.
        let (frozen, n) = freeze_depthwise_weights(model);
        anyhow::ensure!(
            n > 0,
            "extractor.freeze_depthwise: {} has no depthwise convolutions",
            config.extractor.model
        );
        model = frozen;
    }
    if !config.extractor.freeze.is_empty() {
        let (frozen, counts) = freeze_paths(model, &config.extractor.freeze);
        if let Some((path, _)) = config.extractor.freeze.iter().zip(&counts).find(|(_, n)| **n == 0)
        {
            anyhow::bail!(
                "extractor.freeze: `{path}` names no weights of {} (paths as in `oml export`'s \
                 tensor names, e.g. `blocks.0`)",
                config.extractor.model
            );
        }
        model = frozen;
    }
    Ok(model)
}

impl Progress {
    /// A fresh start from `trainee`, or (with `resume`) the state of the run's last
    /// checkpoint.
    pub fn start(run: &Run, trainee: Trainee, resume: bool) -> anyhow::Result<Self> {
        let config = &run.config;
        let average = |model: &FileModel| {
            config.ema_decay.map(|d| WeightAverage::new(model, d, config.ema_warmup))
        };
        if !resume {
            let average = average(&trainee.model);
            let state = TrainState { epochs_done: 0, best: None, steps: 0 };
            return Ok(Self { trainee, optim: optimizer(config), state, average });
        }
        let dir = checkpoint::find_for_resume(&run.dir.join("last"))?;
        let loaded = checkpoint::load(&dir, trainee, Some(optimizer(config)))?;
        if loaded.state.epochs_done > config.max_epochs {
            return Err(checkpoint::ResumeError::PastEnd {
                path: dir.join("state.json"),
                done: loaded.state.epochs_done,
                max: config.max_epochs,
            }
            .into());
        }
        // A run resumed with `ema_decay` newly set starts its average here.
        let average = average(loaded.average.as_ref().unwrap_or(&loaded.trainee.model));
        let optim = loaded.optimizer.unwrap_or_else(|| optimizer(config));
        forget_metrics_after(run, loaded.state.epochs_done)?;
        // One write: under mpirun another rank's line cannot land inside it.
        super::processes::say(&format!(
            "resuming {} after epoch {}",
            run.dir.display(),
            loaded.state.epochs_done
        ));
        Ok(Self { trainee: loaded.trainee, optim, state: loaded.state, average })
    }
}
