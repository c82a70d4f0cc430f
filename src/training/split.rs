//! Train / validation / test splits by TRACK (never by window), stratified per label.
//!
//! All windows of a track stay in one part, so a model is never tested on a track it heard
//! during training. Everything is deterministic for a seed (ChaCha8 RNG) and returns track
//! indices, each part sorted ascending.
//!
//! ## How many tracks of a label go to each part
//! For a label with `n` tracks, each part's share `n * fraction` is rounded down or up
//! (never further), and the round-ups are handed out with a carry-over across labels (in
//! ascending label order) so the parts' totals stay close to their fractions too. Then the
//! tiny-label rule applies:
//! - `n >= 3`: every part with a positive fraction gets at least one track of the label
//!   (train always keeps at least one), so each label is trained, validated and tested.
//! - `n == 2`: one track for training, one for test (when the test fraction is positive);
//!   none for validation.
//! - `n == 1`: the track is used for training only; the label is never evaluated.
//!
//! The per-label counts are within ±1 of `n * fraction` except where this rule applies
//! (i.e. when a share is below one track).

use std::collections::BTreeMap;
use std::fmt;

use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Track indices of a train / validation / test split, each sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Tracks to train on.
    pub train: Vec<usize>,
    /// Tracks for early stopping and model selection.
    pub val: Vec<usize>,
    /// Held-out tracks for the final metrics.
    pub test: Vec<usize>,
}

/// One fold of a k-fold cross-validation: like a [`Split`], where the folds' `test` parts are
/// disjoint and together cover every track exactly once.
pub type Fold = Split;

/// The validation share of the non-test tracks used by [`stratified_k_fold`].
pub const KFOLD_VAL_FRACTION: f64 = 0.1;

/// Why a split cannot be made.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitError {
    /// There is no track to split.
    NoTracks,
    /// The fractions are unusable (negative, not finite, train zero, or not summing to 1).
    BadFractions(String),
    /// k-fold needs `k >= 2`.
    TooFewFolds {
        /// The requested number of folds.
        k: usize,
    },
    /// A label has fewer tracks than folds, so some test part could not contain it.
    LabelTooSmall {
        /// The label index.
        label: usize,
        /// Its number of tracks.
        tracks: usize,
        /// The requested number of folds.
        k: usize,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::NoTracks => write!(f, "there are no tracks to split"),
            SplitError::BadFractions(why) => write!(f, "invalid split fractions: {why}"),
            SplitError::TooFewFolds { k } => write!(f, "k-fold cross-validation needs k >= 2, got k = {k}"),
            SplitError::LabelTooSmall { label, tracks, k } => write!(
                f,
                "label #{label} has only {tracks} track(s); {k}-fold cross-validation needs at least {k} tracks per label (lower k or add tracks)"
            ),
        }
    }
}

impl std::error::Error for SplitError {}

/// Track indices per label (ascending label order), each list in track order.
fn by_label(labels: &[usize]) -> BTreeMap<usize, Vec<usize>> {
    let mut map: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        map.entry(l).or_default().push(i);
    }
    map
}

/// Counts `[train, val, test]` for each label size in `sizes` (see the module rules),
/// `fractions` = `[train, val, test]`, already validated.
fn allocate(sizes: &[usize], fractions: [f64; 3]) -> Vec<[usize; 3]> {
    const EPS: f64 = 1e-9;
    let mut quota_sum = [0.0f64; 3];
    let mut given = [0usize; 3];
    sizes
        .iter()
        .map(|&n| {
            let quotas = fractions.map(|f| n as f64 * f);
            let mut counts = quotas.map(|q| (q + EPS).floor() as usize);
            for p in 0..3 {
                quota_sum[p] += quotas[p];
            }
            let extras = n.saturating_sub(counts.iter().sum());
            // Hand the round-ups to the parts (with a fractional share) that are furthest
            // behind their running quota.
            let mut order: Vec<usize> =
                (0..3).filter(|&p| quotas[p] - counts[p] as f64 > EPS).collect();
            let deficit = |p: usize| quota_sum[p] - (given[p] + counts[p]) as f64;
            order.sort_by(|&a, &b| deficit(b).total_cmp(&deficit(a)).then(a.cmp(&b)));
            for &p in order.iter().take(extras) {
                counts[p] += 1;
            }
            // Tiny labels: test first, then val, but train keeps at least one track.
            let min_test = usize::from(fractions[2] > 0.0 && n >= 2);
            let min_val = usize::from(fractions[1] > 0.0 && n >= 3);
            counts[2] = counts[2].max(min_test);
            counts[1] = counts[1].max(min_val);
            while n > 0 && counts[1] + counts[2] >= n {
                if counts[1] > min_val && (counts[1] >= counts[2] || counts[2] <= min_test) {
                    counts[1] -= 1;
                } else {
                    counts[2] -= 1;
                }
            }
            counts[0] = n - counts[1] - counts[2];
            for p in 0..3 {
                given[p] += counts[p];
            }
            counts
        })
        .collect()
}

fn check_fractions(fractions: (f64, f64, f64)) -> Result<[f64; 3], SplitError> {
    let f = [fractions.0, fractions.1, fractions.2];
    if f.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(SplitError::BadFractions(format!(
            "{fractions:?} must be finite and non-negative"
        )));
    }
    if f[0] <= 0.0 {
        return Err(SplitError::BadFractions(format!(
            "{fractions:?}: the train fraction must be positive"
        )));
    }
    let sum: f64 = f.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(SplitError::BadFractions(format!("{fractions:?} sum to {sum}, not 1")));
    }
    Ok(f)
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

/// Splits tracks (given by their label indices) into train / val / test with
/// `fractions = (train, val, test)` summing to 1, e.g. `(0.8, 0.1, 0.1)`, stratified per
/// label (see the module rules for tiny labels). Deterministic for `seed`.
pub fn stratified_split(
    labels: &[usize],
    fractions: (f64, f64, f64),
    seed: u64,
) -> Result<Split, SplitError> {
    let f = check_fractions(fractions)?;
    if labels.is_empty() {
        return Err(SplitError::NoTracks);
    }
    let groups = by_label(labels);
    let sizes: Vec<usize> = groups.values().map(Vec::len).collect();
    let counts = allocate(&sizes, f);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = Split { train: Vec::new(), val: Vec::new(), test: Vec::new() };
    for (mut tracks, [_, n_val, n_test]) in groups.into_values().zip(counts) {
        tracks.shuffle(&mut rng);
        split.test.extend_from_slice(&tracks[..n_test]);
        split.val.extend_from_slice(&tracks[n_test..n_test + n_val]);
        split.train.extend_from_slice(&tracks[n_test + n_val..]);
    }
    Ok(Split { train: sorted(split.train), val: sorted(split.val), test: sorted(split.test) })
}

/// [`stratified_k_fold_with_val`] with `val_fraction` = [`KFOLD_VAL_FRACTION`].
pub fn stratified_k_fold(labels: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>, SplitError> {
    stratified_k_fold_with_val(labels, k, KFOLD_VAL_FRACTION, seed)
}

/// Stratified k-fold cross-validation. The tracks are dealt into `k` disjoint parts, each
/// label spread evenly (per-part counts within ±1) and the parts' sizes within 1 of each
/// other. Fold `i` tests on part `i`; from the other tracks it carves a stratified validation
/// set of `val_fraction` (tiny-label rule as in the module docs, applied to the remaining
/// tracks of each label) for early stopping, and trains on the rest.
///
/// Fails when `k < 2` or a label has fewer than `k` tracks.
pub fn stratified_k_fold_with_val(
    labels: &[usize],
    k: usize,
    val_fraction: f64,
    seed: u64,
) -> Result<Vec<Fold>, SplitError> {
    if k < 2 {
        return Err(SplitError::TooFewFolds { k });
    }
    let val_f = check_fractions((1.0 - val_fraction, val_fraction, 0.0))?;
    if labels.is_empty() {
        return Err(SplitError::NoTracks);
    }
    let mut groups = by_label(labels);
    if let Some((&label, tracks)) = groups.iter().find(|(_, t)| t.len() < k) {
        return Err(SplitError::LabelTooSmall { label, tracks: tracks.len(), k });
    }

    // Deal each label's shuffled tracks round-robin, continuing where the last label stopped.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut part_of = vec![0usize; labels.len()];
    let mut next = 0usize;
    for tracks in groups.values_mut() {
        tracks.shuffle(&mut rng);
        for &t in tracks.iter() {
            part_of[t] = next % k;
            next += 1;
        }
    }

    let folds = (0..k)
        .map(|fold| {
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed ^ (fold as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let rest: Vec<Vec<usize>> = groups
                .values()
                .map(|tracks| tracks.iter().copied().filter(|&t| part_of[t] != fold).collect())
                .collect();
            let sizes: Vec<usize> = rest.iter().map(Vec::len).collect();
            let counts = allocate(&sizes, val_f);
            let mut f = Fold { train: Vec::new(), val: Vec::new(), test: Vec::new() };
            for (mut tracks, [_, n_val, _]) in rest.into_iter().zip(counts) {
                tracks.shuffle(&mut rng);
                f.val.extend_from_slice(&tracks[..n_val]);
                f.train.extend_from_slice(&tracks[n_val..]);
            }
            f.test = (0..labels.len()).filter(|&t| part_of[t] == fold).collect();
            Fold { train: sorted(f.train), val: sorted(f.val), test: f.test }
        })
        .collect();
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sizes[l]` tracks of label `l`, interleaved so labels are not contiguous.
    fn labels_of(sizes: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        let max = sizes.iter().copied().max().unwrap_or(0);
        for i in 0..max {
            for (l, &n) in sizes.iter().enumerate() {
                if i < n {
                    out.push(l);
                }
            }
        }
        out
    }

    fn assert_partition(parts: &[&[usize]], n: usize) {
        let mut seen = vec![0u8; n];
        for part in parts {
            for &t in *part {
                seen[t] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "every track in exactly one part");
    }

    fn count(part: &[usize], labels: &[usize], label: usize) -> usize {
        part.iter().filter(|&&t| labels[t] == label).count()
    }

    #[test]
    fn split_is_a_stratified_partition() {
        let sizes = [100, 37, 10, 15, 15, 15, 23, 64];
        let labels = labels_of(&sizes);
        let s = stratified_split(&labels, (0.8, 0.1, 0.1), 7).unwrap();
        assert_partition(&[&s.train, &s.val, &s.test], labels.len());
        for (l, &n) in sizes.iter().enumerate() {
            for (part, f) in [(&s.train, 0.8), (&s.val, 0.1), (&s.test, 0.1)] {
                let c = count(part, &labels, l) as f64;
                assert!(
                    (c - n as f64 * f).abs() <= 1.0,
                    "label {l} ({n} tracks): {c} vs {}",
                    n as f64 * f
                );
            }
        }
        // The carry-over keeps the totals near the fractions (3 labels of 15 give 1.5 each).
        let total = labels.len() as f64;
        assert!((s.test.len() as f64 - 0.1 * total).abs() <= 1.0, "{} of {total}", s.test.len());
        assert!((s.val.len() as f64 - 0.1 * total).abs() <= 1.0, "{} of {total}", s.val.len());
        for part in [&s.train, &s.val, &s.test] {
            assert!(part.windows(2).all(|w| w[0] < w[1]), "sorted");
        }
    }

    #[test]
    fn gtzan_sized_split_is_exact() {
        let labels = labels_of(&[100; 10]);
        let s = stratified_split(&labels, (0.8, 0.1, 0.1), 0).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (800, 100, 100));
        for l in 0..10 {
            assert_eq!(count(&s.test, &labels, l), 10);
            assert_eq!(count(&s.val, &labels, l), 10);
        }
    }

    #[test]
    fn split_is_deterministic_per_seed() {
        let labels = labels_of(&[30, 30, 30]);
        let a = stratified_split(&labels, (0.8, 0.1, 0.1), 42).unwrap();
        let b = stratified_split(&labels, (0.8, 0.1, 0.1), 42).unwrap();
        let c = stratified_split(&labels, (0.8, 0.1, 0.1), 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.test, c.test);
    }

    #[test]
    fn tiny_labels_follow_the_documented_rule() {
        let labels = labels_of(&[1, 2, 3, 4, 5]);
        let s = stratified_split(&labels, (0.8, 0.1, 0.1), 1).unwrap();
        assert_partition(&[&s.train, &s.val, &s.test], labels.len());
        let c = |l| {
            [count(&s.train, &labels, l), count(&s.val, &labels, l), count(&s.test, &labels, l)]
        };
        assert_eq!(c(0), [1, 0, 0], "1 track: train only");
        assert_eq!(c(1), [1, 0, 1], "2 tracks: train + test");
        assert_eq!(c(2), [1, 1, 1], "3 tracks: one in each part");
        assert_eq!(c(3), [2, 1, 1]);
        assert_eq!(c(4), [3, 1, 1]);
        // No val or test fraction: everything trains.
        let s = stratified_split(&labels, (1.0, 0.0, 0.0), 1).unwrap();
        assert_eq!(s.train.len(), labels.len());
    }

    #[test]
    fn bad_inputs_fail_clearly() {
        assert_eq!(stratified_split(&[], (0.8, 0.1, 0.1), 0), Err(SplitError::NoTracks));
        for f in [(0.8, 0.1, 0.2), (0.0, 0.5, 0.5), (1.1, -0.1, 0.0), (f64::NAN, 0.5, 0.5)] {
            let e = stratified_split(&[0, 1], f, 0).unwrap_err();
            assert!(matches!(e, SplitError::BadFractions(_)), "{f:?}");
        }
    }

    #[test]
    fn k_fold_tests_cover_every_track_once() {
        let sizes = [20, 13, 7, 10];
        let labels = labels_of(&sizes);
        let k = 5;
        let folds = stratified_k_fold(&labels, k, 3).unwrap();
        assert_eq!(folds.len(), k);
        let tests: Vec<&[usize]> = folds.iter().map(|f| &f.test[..]).collect();
        assert_partition(&tests, labels.len());
        let (min, max) = (
            tests.iter().map(|t| t.len()).min().unwrap(),
            tests.iter().map(|t| t.len()).max().unwrap(),
        );
        assert!(max - min <= 1, "part sizes {min}..{max}");
        for f in &folds {
            assert_partition(&[&f.train, &f.val, &f.test], labels.len());
            for (l, &n) in sizes.iter().enumerate() {
                let c = count(&f.test, &labels, l) as f64;
                assert!((c - n as f64 / k as f64).abs() <= 1.0, "label {l}: {c}");
                assert!(count(&f.val, &labels, l) >= 1, "every label is validated");
                let rest = n - count(&f.test, &labels, l);
                let v = count(&f.val, &labels, l) as f64;
                assert!((v - rest as f64 * KFOLD_VAL_FRACTION).abs() <= 1.0);
            }
        }
    }

    #[test]
    fn k_fold_is_deterministic_per_seed() {
        let labels = labels_of(&[12, 12, 12]);
        assert_eq!(
            stratified_k_fold(&labels, 4, 9).unwrap(),
            stratified_k_fold(&labels, 4, 9).unwrap()
        );
        assert_ne!(
            stratified_k_fold(&labels, 4, 9).unwrap()[0].test,
            stratified_k_fold(&labels, 4, 10).unwrap()[0].test
        );
    }

    #[test]
    fn k_fold_errors() {
        let labels = labels_of(&[10, 3]);
        assert_eq!(stratified_k_fold(&labels, 1, 0), Err(SplitError::TooFewFolds { k: 1 }));
        let e = stratified_k_fold(&labels, 4, 0).unwrap_err();
        assert_eq!(e, SplitError::LabelTooSmall { label: 1, tracks: 3, k: 4 });
        assert!(e.to_string().contains("label #1 has only 3 track(s)"), "{e}");
        assert!(stratified_k_fold(&labels, 3, 0).is_ok());
        assert!(stratified_k_fold(&labels_of(&[2, 2]), 2, 0).is_ok());
    }
}
