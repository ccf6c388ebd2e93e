//! An MLflow tracking server over its REST API (`/api/2.0/mlflow/...`, and
//! `/api/2.0/mlflow-artifacts/...` for files, which `mlflow server` serves by default): one
//! MLflow run per oml-train run, its id kept in the run folder so that `--resume` continues it.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use super::Sink;
use crate::train::config::MlflowSection;

/// The file in the run folder that keeps the MLflow run's ids.
pub const MLFLOW_RUN_FILE: &str = "mlflow_run.json";

/// Metrics are sent in batches of at most this many (the server's limit is 1,000).
const BATCH: usize = 500;

pub struct Mlflow {
    agent: ureq::Agent,
    base: String,
    experiment_id: String,
    run_id: String,
}

fn millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// MLflow keys take letters, digits, `_ - . / ` and spaces: `map@r` becomes `map_at_r`.
pub fn metric_key(key: &str) -> String {
    key.replace('@', "_at_")
        .chars()
        .map(|c| if c.is_alphanumeric() || "_-./ ".contains(c) { c } else { '_' })
        .collect()
}

impl Mlflow {
    /// Connects and starts (or, with the ids in `run_dir`, continues) the run; the config's
    /// values become its parameters.
    pub fn start(
        m: &MlflowSection,
        run_dir: &Path,
        params: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(3)))
            .timeout_global(Some(Duration::from_secs(20)))
            .http_status_as_error(false)
            .build();
        let mut me = Self {
            agent: config.into(),
            base: m.tracking_uri.trim_end_matches('/').to_owned(),
            experiment_id: String::new(),
            run_id: String::new(),
        };
        let ids_path = run_dir.join(MLFLOW_RUN_FILE);
        // A few ids: anything larger is not ours.
        if let Ok(text) = crate::io::read_regular_text(&ids_path, 64 << 10) {
            let ids: Value = serde_json::from_str(&text).context("mlflow_run.json")?;
            me.experiment_id = ids["experiment_id"].as_str().unwrap_or_default().to_owned();
            me.run_id = ids["run_id"].as_str().unwrap_or_default().to_owned();
            me.post("runs/update", &json!({ "run_id": me.run_id, "status": "RUNNING" }))?;
            return Ok(me);
        }
        me.experiment_id = me.experiment(&m.experiment)?;
        let name = m.run_name.clone().unwrap_or_else(|| {
            run_dir.file_name().map_or("oml-train".into(), |n| n.to_string_lossy().into_owned())
        });
        let created = me.post(
            "runs/create",
            &json!({ "experiment_id": me.experiment_id, "run_name": name, "start_time": millis() }),
        )?;
        me.run_id = created["run"]["info"]["run_id"]
            .as_str()
            .ok_or_else(|| anyhow!("the server's runs/create answer has no run id"))?
            .to_owned();
        let ids = json!({ "experiment_id": me.experiment_id, "run_id": me.run_id });
        std::fs::write(&ids_path, ids.to_string())?;
        // Parameter values are limited to 6,000 characters, 100 to a batch.
        for chunk in params.chunks(100) {
            let params: Vec<Value> = chunk
                .iter()
                .map(|(k, v)| json!({ "key": metric_key(k), "value": v.chars().take(6000).collect::<String>() }))
                .collect();
            me.post("runs/log-batch", &json!({ "run_id": me.run_id, "params": params }))?;
        }
        Ok(me)
    }

    /// The id of the experiment named `name`, created when missing.
    fn experiment(&self, name: &str) -> anyhow::Result<String> {
        let url = format!("{}/api/2.0/mlflow/experiments/get-by-name", self.base);
        let mut response = self
            .agent
            .get(&url)
            .query("experiment_name", name)
            .call()
            .map_err(|e| anyhow!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.body_mut().read_to_string()?).unwrap_or_default();
        if status == 200
            && let Some(id) = body["experiment"]["experiment_id"].as_str()
        {
            return Ok(id.to_owned());
        }
        let created = self.post("experiments/create", &json!({ "name": name }))?;
        created["experiment_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the server's experiments/create answer has no id"))
    }

    /// POSTs to `/api/2.0/mlflow/<path>`; the answer, or what the server said.
    fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let mut response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| anyhow!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            anyhow::bail!("{url}: HTTP {status}: {}", text.chars().take(300).collect::<String>());
        }
        Ok(serde_json::from_str(&text).unwrap_or_default())
    }

    /// Uploads a file as an artifact at `name`.
    fn artifact(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}/artifacts/{name}",
            self.base, self.experiment_id, self.run_id
        );
        let response = self.agent.put(&url).send(bytes).map_err(|e| anyhow!("{url}: {e}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            anyhow::bail!("{url}: HTTP {status}");
        }
        Ok(())
    }
}

impl Sink for Mlflow {
    fn name(&self) -> String {
        format!("mlflow ({})", self.base)
    }

    fn scalars(&mut self, step: u64, values: &[(String, f64)]) -> anyhow::Result<()> {
        let timestamp = millis();
        let metrics: Vec<Value> = values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| json!({ "key": metric_key(k), "value": v, "timestamp": timestamp, "step": step }))
            .collect();
        for chunk in metrics.chunks(BATCH) {
            self.post("runs/log-batch", &json!({ "run_id": self.run_id, "metrics": chunk }))?;
        }
        Ok(())
    }

    fn text(&mut self, tag: &str, text: &str) -> anyhow::Result<()> {
        self.artifact(&format!("{tag}.toml"), text.as_bytes())
    }

    fn image(&mut self, _step: u64, tag: &str, png: &Path) -> anyhow::Result<()> {
        self.artifact(&format!("{tag}.png"), &std::fs::read(png)?)
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let body = json!({ "run_id": self.run_id, "status": "FINISHED", "end_time": millis() });
        self.post("runs/update", &body).map(|_| ())
    }
}
