//! Cross-validation, shared by every command that runs one (`train audio|transfer|table`,
//! `fuse`): stratified folds by track, one evaluation per fold, and their summary.

use super::metrics::{summarize, CvSummary, Evaluation};
use super::split::{stratified_k_fold, Fold};

/// The `k` stratified folds of tracks labelled `truths` (by track: no track in two parts),
/// dealt with `seed`.
pub fn folds(truths: &[usize], k: usize, seed: u64) -> anyhow::Result<Vec<Fold>> {
    stratified_k_fold(truths, k, seed).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Evaluates every fold with `evaluate(index, fold)` (0-based, in order) and summarises them.
pub fn cross_validate(
    truths: &[usize],
    k: usize,
    seed: u64,
    mut evaluate: impl FnMut(usize, &Fold) -> anyhow::Result<Evaluation>,
) -> anyhow::Result<CvSummary> {
    let evaluations = folds(truths, k, seed)?
        .iter()
        .enumerate()
        .map(|(i, fold)| evaluate(i, fold))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(summarize(evaluations))
}

/// The median of the folds' best epochs (the lower middle value of an even count); `None`
/// without folds.
pub fn median_epoch(best_epochs: &[usize]) -> Option<usize> {
    let mut sorted = best_epochs.to_vec();
    sorted.sort_unstable();
    sorted.get((sorted.len().max(1) - 1) / 2).copied()
}
