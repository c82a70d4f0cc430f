//! Finished cross-validation folds kept on disk, so an interrupted `--folds K` run resumes
//! where it stopped instead of training every fold again.
//!
//! Each fold is one JSON file, `<out>/cv-folds/fold-I-of-K.json`, holding the fold's test
//! evaluation and a key: a BLAKE3 hash of everything that decides the fold's result (training
//! settings, front-end config, K, and every track's label and decoded samples). A file whose key
//! differs from the current run's is ignored and overwritten, so changing the data or a setting
//! can never reuse a stale result.

use std::path::{Path, PathBuf};

use anyhow::Context;
use genrescope::FeatureConfig;
use serde::{Deserialize, Serialize};

use super::TrainSettings;
use crate::metrics::Evaluation;

/// One finished fold as stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// Hash of the inputs that produced this result (see [`run_key`]).
    pub key: String,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// The fold's test-part evaluation.
    pub evaluation: Evaluation,
}

/// The folder of per-fold results for one output folder.
#[derive(Debug, Clone)]
pub struct FoldStore {
    dir: PathBuf,
    key: String,
}

/// Hash of everything that decides a K-fold run's results: `settings`, `cfg`, `k`, and each
/// track's label and samples (in track order).
pub fn run_key(
    settings: &TrainSettings,
    cfg: &FeatureConfig,
    k: usize,
    labels: &[usize],
    pcm: &[Vec<f32>],
) -> String {
    let mut h = blake3::Hasher::new();
    h.update(serde_json::to_string(settings).unwrap_or_default().as_bytes());
    h.update(serde_json::to_string(cfg).unwrap_or_default().as_bytes());
    h.update(&(k as u64).to_le_bytes());
    for (label, samples) in labels.iter().zip(pcm) {
        h.update(&(*label as u64).to_le_bytes());
        h.update(&(samples.len() as u64).to_le_bytes());
        for s in samples {
            h.update(&s.to_le_bytes());
        }
    }
    h.finalize().to_hex().to_string()
}

impl FoldStore {
    /// The store under `out/cv-folds` for a run with this `key`.
    pub fn new(out: &Path, key: String) -> Self {
        FoldStore { dir: out.join("cv-folds"), key }
    }

    fn path(&self, fold: usize, k: usize) -> PathBuf {
        self.dir.join(format!("fold-{}-of-{k}.json", fold + 1))
    }

    /// The stored result of fold `fold` (0-based) of `k`, if one exists for this run's key.
    /// Unreadable or stale files count as missing.
    pub fn load(&self, fold: usize, k: usize) -> Option<FoldResult> {
        let text = std::fs::read_to_string(self.path(fold, k)).ok()?;
        let result: FoldResult = serde_json::from_str(&text).ok()?;
        (result.key == self.key).then_some(result)
    }

    /// Stores the result of fold `fold` (0-based) of `k` (written to a temporary file first,
    /// then renamed, so a kill mid-write leaves no half file).
    pub fn save(
        &self,
        fold: usize,
        k: usize,
        best_epoch: usize,
        evaluation: &Evaluation,
    ) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let result =
            FoldResult { key: self.key.clone(), best_epoch, evaluation: evaluation.clone() };
        let path = self.path(fold, k);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&result)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::evaluate;

    fn evaluation() -> Evaluation {
        let labels = vec!["a".to_string(), "b".to_string()];
        let preds = vec![
            crate::metrics::WindowPrediction { track: 0, truth: 0, probs: vec![0.9, 0.1] },
            crate::metrics::WindowPrediction { track: 1, truth: 1, probs: vec![0.3, 0.7] },
        ];
        evaluate(&labels, &preds)
    }

    #[test]
    fn a_saved_fold_loads_back_under_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let settings = TrainSettings::default();
        let cfg = FeatureConfig::gtzan_default();
        let pcm = vec![vec![0.0f32, 0.5], vec![0.25]];
        let key = run_key(&settings, &cfg, 5, &[0, 1], &pcm);
        let store = FoldStore::new(dir.path(), key.clone());
        assert!(store.load(2, 5).is_none());
        store.save(2, 5, 7, &evaluation()).unwrap();
        let back = store.load(2, 5).expect("stored fold");
        assert_eq!(back.best_epoch, 7);
        assert_eq!(back.evaluation, evaluation());
        assert!(store.load(1, 5).is_none(), "another fold is not stored");
        assert!(store.load(2, 4).is_none(), "another K is another file");

        let other_data = run_key(&settings, &cfg, 5, &[0, 1], &[vec![0.0f32, 0.5], vec![0.26]]);
        assert_ne!(other_data, key);
        assert!(
            FoldStore::new(dir.path(), other_data).load(2, 5).is_none(),
            "changed samples must not reuse the result"
        );
        let mut other_settings = settings.clone();
        other_settings.epochs += 1;
        let other_key = run_key(&other_settings, &cfg, 5, &[0, 1], &pcm);
        assert!(
            FoldStore::new(dir.path(), other_key).load(2, 5).is_none(),
            "changed settings must not reuse the result"
        );
    }

    #[test]
    fn a_corrupt_fold_file_counts_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FoldStore::new(dir.path(), "k".into());
        std::fs::create_dir_all(dir.path().join("cv-folds")).unwrap();
        std::fs::write(dir.path().join("cv-folds/fold-1-of-3.json"), "{ not json").unwrap();
        assert!(store.load(0, 3).is_none());
    }
}
