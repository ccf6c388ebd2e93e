//! The run's logs: metrics.jsonl and metrics.csv, one line per validation; steps.csv, one line
//! per optimizer step (epoch, step, loss, the criterion's figure, learning rate).

use std::io::Write;

use oml_core::metrics::MetricsReport;

use super::run::Run;

/// One line of metrics.csv / metrics.jsonl.
pub fn log_metrics(
    run: &Run,
    epoch: u64,
    train_loss: Option<f64>,
    report: &MetricsReport,
) -> anyhow::Result<()> {
    let mut row = serde_json::Map::new();
    row.insert("epoch".into(), epoch.into());
    row.insert("train_loss".into(), train_loss.into());
    // Columns sorted by name, as the logs have always had them.
    let mut entries: Vec<_> = report.entries().collect();
    entries.sort_by(|a, b| (a.group, a.metric, &a.key).cmp(&(b.group, b.metric, &b.key)));
    let flat: Vec<(String, serde_json::Value)> = entries
        .iter()
        .map(|e| {
            let value = if e.value.is_finite() { e.value.into() } else { serde_json::Value::Null };
            (e.path(), value)
        })
        .collect();
    for (k, v) in &flat {
        row.insert(k.clone(), v.clone());
    }
    // The loggers: validation metrics at step = the epoch (0: before training).
    let mut scalars: Vec<(String, f64)> =
        entries.iter().map(|e| (format!("valid/{}", e.path()), e.value)).collect();
    if let Some(loss) = train_loss {
        scalars.push(("train/epoch_loss".into(), loss));
    }
    run.loggers.scalars(epoch, &scalars);
    let jsonl = run.dir.join("metrics.jsonl");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&jsonl)?;
    writeln!(f, "{}", serde_json::Value::Object(row))?;
    let csv = run.dir.join("metrics.csv");
    let new = !csv.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&csv)?;
    if new {
        let names: Vec<&str> = flat.iter().map(|(k, _)| k.as_str()).collect();
        writeln!(f, "epoch,train_loss,{}", names.join(","))?;
    }
    let values: Vec<String> = flat.iter().map(|(_, v)| v.to_string()).collect();
    let loss = train_loss.map(|l| format!("{l}")).unwrap_or_default();
    writeln!(f, "{epoch},{loss},{}", values.join(","))?;
    Ok(())
}

/// One line of steps.csv: `epoch` counts from 1, `step` from 1 over the whole run.
pub fn log_step(
    run: &Run,
    epoch: u64,
    step: u64,
    loss: f64,
    watched: f64,
    lr: f64,
) -> anyhow::Result<()> {
    let path = run.dir.join("steps.csv");
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    if new {
        writeln!(f, "epoch,step,loss,watched,lr")?;
    }
    writeln!(f, "{epoch},{step},{loss},{watched},{lr}")?;
    Ok(())
}

/// Drops log lines of epochs after `epochs_done`: a kill between logging an epoch and
/// checkpointing it would otherwise leave that epoch twice once it is run again.
pub fn forget_metrics_after(run: &Run, epochs_done: u64) -> anyhow::Result<()> {
    let keep = |epoch: Option<u64>| epoch.is_none_or(|e| e <= epochs_done);
    for (file, epoch_of) in [
        (
            "metrics.jsonl",
            (|line: &str| serde_json::from_str::<serde_json::Value>(line).ok()?["epoch"].as_u64())
                as fn(&str) -> Option<u64>,
        ),
        ("metrics.csv", |line: &str| line.split(',').next()?.parse().ok()),
        ("steps.csv", |line: &str| line.split(',').next()?.parse().ok()),
    ] {
        let path = run.dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let kept: String =
            text.lines().filter(|l| keep(epoch_of(l))).map(|l| format!("{l}\n")).collect();
        if kept != text {
            crate::io::write_atomically(&path, kept.as_bytes())?;
        }
    }
    Ok(())
}
