//! Experiment loggers (`[logger]`): TensorBoard event files and an MLflow tracking server,
//! beside the run folder's own logs. A logger that fails (a server that cannot be reached, a
//! full disk) is reported once as a warning and dropped: it never stops or loses a run.

mod mlflow;
mod tensorboard;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use mlflow::{MLFLOW_RUN_FILE, metric_key};

use super::config::LoggerSection;

/// Where a logger writes: scalars at a step, a text, a picture.
trait Sink: Send {
    fn name(&self) -> String;
    fn scalars(&mut self, step: u64, values: &[(String, f64)]) -> anyhow::Result<()>;
    fn text(&mut self, tag: &str, text: &str) -> anyhow::Result<()>;
    fn image(&mut self, step: u64, tag: &str, png: &Path) -> anyhow::Result<()>;
    fn finish(&mut self) -> anyhow::Result<()>;
}

/// The run's loggers (none by default), shared by the run's parts; tags carry `prefix`
/// (an ensemble member's `member<k>/`).
#[derive(Clone, Default)]
pub struct Loggers {
    sinks: Arc<Mutex<Vec<Box<dyn Sink>>>>,
    prefix: String,
}

impl std::fmt::Debug for Loggers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.with(|s| s.iter().map(|x| x.name()).collect());
        f.debug_struct("Loggers").field("sinks", &names).field("prefix", &self.prefix).finish()
    }
}

impl Loggers {
    /// The loggers `section` names for the run in `run_dir`, which start with the run's
    /// config (text, and MLflow parameters); one that cannot start is a warning.
    pub fn start(section: &LoggerSection, run_dir: &Path, config_toml: &str) -> Self {
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        if let Some(dir) = &section.tensorboard {
            match tensorboard::TensorBoard::create(&run_dir.join(dir)) {
                Ok(tb) => sinks.push(Box::new(tb)),
                Err(e) => warn("tensorboard", &e),
            }
        }
        if let Some(m) = &section.mlflow {
            match mlflow::Mlflow::start(m, run_dir, &params(config_toml)) {
                Ok(ml) => sinks.push(Box::new(ml)),
                Err(e) => warn(&format!("mlflow ({})", m.tracking_uri), &e),
            }
        }
        let loggers = Self { sinks: Arc::new(Mutex::new(sinks)), prefix: String::new() };
        loggers.each(|s| s.text("config", config_toml));
        loggers
    }

    /// The same loggers with tags under `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> Self {
        Self { sinks: Arc::clone(&self.sinks), prefix: format!("{}{prefix}", self.prefix) }
    }

    /// Scalars `(tag, value)` at optimizer step `step`.
    pub fn scalars(&self, step: u64, values: &[(String, f64)]) {
        let values: Vec<(String, f64)> =
            values.iter().map(|(k, v)| (format!("{}{k}", self.prefix), *v)).collect();
        self.each(|s| s.scalars(step, &values));
    }

    /// A picture of the report.
    pub fn image(&self, step: u64, tag: &str, png: &Path) {
        let tag = format!("{}{tag}", self.prefix);
        self.each(|s| s.image(step, &tag, png));
    }

    /// The run ended.
    pub fn finish(&self) {
        self.each(|s| s.finish());
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<Box<dyn Sink>>) -> T) -> T {
        let mut sinks = self.sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut sinks)
    }

    /// Runs `f` on every sink; one that fails is reported and dropped.
    fn each(&self, mut f: impl FnMut(&mut dyn Sink) -> anyhow::Result<()>) {
        self.with(|sinks| {
            sinks.retain_mut(|s| match f(s.as_mut()) {
                Ok(()) => true,
                Err(e) => {
                    warn(&s.name(), &e);
                    false
                }
            });
        });
    }
}

fn warn(what: &str, e: &anyhow::Error) {
    eprintln!("warning: {what}: {e:#}; logging there stops, the run and its own logs go on");
}

/// The config's values as flat `section.key = value` pairs (MLflow parameters).
fn params(config_toml: &str) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out);
                }
            }
            toml::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = config_toml.parse::<toml::Table>() {
        walk("", &toml::Value::Table(table), &mut out);
    }
    out
}
