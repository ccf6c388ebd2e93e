//! Range checks of a training config that go beyond its types: everything that would
//! otherwise fail (or allocate without bound) only once data is loaded or an epoch has run.

use oml_core::metrics::ScalarMetric;

use super::{TrainConfig, TransformsSection};

/// Largest width of a projection-head layer.
pub const MAX_HEAD_WIDTH: usize = 1 << 16;
/// Most layers in a projection head.
pub const MAX_HEAD_LAYERS: usize = 16;
/// Most devices on one machine.
pub const MAX_DEVICES: usize = 64;

impl TrainConfig {
    /// Appends one message per value out of range.
    pub(super) fn check_ranges(&self, errors: &mut Vec<String>) {
        let head = &self.extractor.head;
        if head.len() > MAX_HEAD_LAYERS {
            errors.push(format!(
                "extractor.head has {} layers; at most {MAX_HEAD_LAYERS}",
                head.len()
            ));
        }
        if let Some(w) = head.iter().find(|w| !(1..=MAX_HEAD_WIDTH).contains(*w)) {
            errors.push(format!("extractor.head widths must be 1 to {MAX_HEAD_WIDTH}, got {w}"));
        }
        if self.devices > MAX_DEVICES {
            errors.push(format!("devices must be at most {MAX_DEVICES}, got {}", self.devices));
        }
        errors.extend(self.sampler.check());
        for (name, t) in
            [("transforms_train", &self.transforms_train), ("transforms_val", &self.transforms_val)]
        {
            check_transforms(name, t, errors);
        }
        let metrics = self.metric_args.metrics_config();
        if let Err(e) = metrics.validate() {
            errors.push(format!("metric_args: {e}"));
        }
        if let Err(e) = self.check_checkpoint_metric() {
            errors.push(e);
        }
    }

    /// `metric_for_checkpointing` must name a metric validation computes:
    /// `<group>/<cmc|precision|map>/<k in its list>`, `<group>/fnmr@fmr/<a value of
    /// fmr_vals>` or `<group>/<map@r|r_precision|mrr>`. The group is `OVERALL` or a category, checked once the data is read.
    fn check_checkpoint_metric(&self) -> Result<(), String> {
        let name = &self.metric_for_checkpointing;
        let m = &self.metric_args;
        let bad = |why: String| format!("metric_for_checkpointing = \"{name}\": {why}");
        let parts: Vec<&str> = name.split('/').collect();
        if let [group, metric] = parts.as_slice() {
            if group.is_empty() {
                return Err(bad("the group is empty (OVERALL or a category)".into()));
            }
            if ScalarMetric::CLUSTERING.iter().any(|c| c.name() == *metric) {
                return match (*group, m.clustering) {
                    ("OVERALL", true) => Ok(()),
                    ("OVERALL", false) => {
                        Err(bad("metric_args.clustering = false: nmi and ami are off".into()))
                    }
                    _ => Err(bad("nmi and ami are computed for OVERALL only".into())),
                };
            }
            if !ScalarMetric::RANKING.iter().any(|m| m.name() == *metric) {
                return Err(bad(format!(
                    "unknown metric `{metric}` without k; one of map@r, r_precision, mrr, nmi, ami"
                )));
            }
            return if m.ranking {
                Ok(())
            } else {
                Err(bad("metric_args.ranking = false: map@r, r_precision and mrr are off".into()))
            };
        }
        let [group, metric, key] = parts.as_slice() else {
            return Err(bad(
                "expected <group>/<metric>/<k> or <group>/<map@r|r_precision|mrr>, e.g. \
                 OVERALL/cmc/1"
                    .into(),
            ));
        };
        if group.is_empty() {
            return Err(bad("the group is empty (OVERALL or a category)".into()));
        }
        let ks = match *metric {
            "cmc" => &m.cmc_top_k,
            "precision" => &m.precision_top_k,
            "map" => &m.map_top_k,
            "fnmr@fmr" => {
                let value: f64 =
                    key.parse().map_err(|_| bad(format!("`{key}` is not a number")))?;
                return if m.fmr_vals.contains(&value) {
                    Ok(())
                } else {
                    Err(bad(format!("{value} is not in metric_args.fmr_vals {:?}", m.fmr_vals)))
                };
            }
            other => {
                return Err(bad(format!(
                    "unknown metric `{other}`; one of cmc, precision, map, fnmr@fmr"
                )));
            }
        };
        let k: usize = key.parse().map_err(|_| bad(format!("`{key}` is not a k")))?;
        if ks.contains(&k) {
            Ok(())
        } else {
            Err(bad(format!("k = {k} is not in metric_args.{metric}_top_k {ks:?}")))
        }
    }
}

fn check_transforms(name: &str, t: &TransformsSection, errors: &mut Vec<String>) {
    if let Some(c) = &t.random_resized_crop {
        let [lo, hi] = c.scale;
        if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi && hi <= 1.0) {
            errors.push(format!(
                "{name}.random_resized_crop.scale must be [lo, hi] with 0 < lo <= hi <= 1, got \
                 [{lo}, {hi}]"
            ));
        }
        let [lo, hi] = c.ratio;
        if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi) {
            errors.push(format!(
                "{name}.random_resized_crop.ratio must be [lo, hi] with 0 < lo <= hi, got \
                 [{lo}, {hi}]"
            ));
        }
    }
    if let Some(j) = &t.color_jitter {
        for (key, v, max) in [
            ("brightness", j.brightness, f64::MAX),
            ("contrast", j.contrast, f64::MAX),
            ("saturation", j.saturation, f64::MAX),
            ("hue", j.hue, 0.5),
        ] {
            if !(v.is_finite() && (0.0..=max).contains(&v)) {
                errors.push(format!("{name}.color_jitter.{key} must be 0 to {max}, got {v}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::TrainConfig;

    fn with(sets: &[&str]) -> Result<TrainConfig, String> {
        let text = include_str!("../../../../configs/emoji_mobilenet_v2.toml");
        let sets: Vec<String> = sets.iter().map(|s| (*s).to_owned()).collect();
        TrainConfig::parse(text, Path::new("c.toml"), &sets).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_ranking_metrics_can_pick_the_checkpoint() {
        for metric in ["map@r", "r_precision", "mrr"] {
            let set = format!("metric_for_checkpointing=\"OVERALL/{metric}\"");
            assert!(with(&[&set]).is_ok(), "{metric}");
        }
        let e = with(&["metric_for_checkpointing=\"OVERALL/map@q\""]).unwrap_err();
        assert!(e.contains("unknown metric `map@q` without k"), "{e}");
        let e = with(&["metric_for_checkpointing=\"OVERALL/mrr\"", "metric_args.ranking=false"])
            .unwrap_err();
        assert!(e.contains("metric_args.ranking = false"), "{e}");
        let nmi = "metric_for_checkpointing=\"OVERALL/nmi\"";
        assert!(with(&[nmi, "metric_args.clustering=true"]).is_ok());
        assert!(with(&[nmi]).unwrap_err().contains("metric_args.clustering = false"));
        let e = with(&["metric_for_checkpointing=\"Flags/ami\"", "metric_args.clustering=true"]);
        assert!(e.unwrap_err().contains("OVERALL only"));
    }
}
