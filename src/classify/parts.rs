//! Whole-track analysis in parts, so that one track can be shared between workers and
//! answered progressively.
//!
//! A run analyses a [`PatchSelection`] of a track's windows and gives a [`TrackPart`]: each
//! member's per-window rows before calibration (or why it did not run). Parts of one track
//! from any number of runs, in any order, merge into the same result as one run over every
//! window ([`Ensemble::merge`](super::Ensemble::merge)): rows are taken by window index, so the
//! track mean is summed in the same order whatever the split.

use serde::{Deserialize, Serialize};

use super::WindowResult;
use crate::segment::spread_evenly;
use crate::trust::SignalLevel;

/// Which of a track's windows (3 s patches) a run analyses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PatchSelection {
    /// What the bundle's front end says (`max_patches`, evenly spread; all without it).
    #[default]
    Configured,
    /// Every window.
    All,
    /// `count` windows evenly spread over the track (first and last kept): a first answer.
    Spread {
        /// How many.
        count: usize,
    },
    /// Share `part` (0-based) of `parts` of the windows that [`Spread`](Self::Spread) with
    /// `after` leaves out, dealt round-robin so that every share spans the whole track.
    Rest {
        /// The `count` of the first answer's spread.
        after: usize,
        /// Which share.
        part: usize,
        /// How many shares.
        parts: usize,
    },
}

impl PatchSelection {
    /// The indices (ascending) of the windows this selection takes out of `total`, where
    /// `configured` is the bundle's `max_patches`.
    pub fn indices(&self, total: usize, configured: Option<usize>) -> Vec<usize> {
        let all: Vec<usize> = (0..total).collect();
        match *self {
            PatchSelection::Configured => match configured {
                Some(max) => spread_evenly(all, max),
                None => all,
            },
            PatchSelection::All => all,
            PatchSelection::Spread { count } => spread_evenly(all, count.max(1)),
            PatchSelection::Rest { after, part, parts } => {
                let first = spread_evenly(all.clone(), after.max(1));
                all.into_iter()
                    .filter(|i| first.binary_search(i).is_err())
                    .enumerate()
                    .filter(|(k, _)| parts > 0 && k % parts == part)
                    .map(|(_, i)| i)
                    .collect()
            }
        }
    }
}

/// What the network gave for one window, before calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysedWindow {
    /// The window's index among all of the track's windows.
    pub index: usize,
    /// Where it is and its softmax probabilities.
    pub window: WindowResult,
    /// Its tag probabilities (empty without tags).
    pub tags: Vec<f32>,
    /// The music detector's input from it (empty without a detector).
    pub detector: Vec<f32>,
}

/// One member's share of a [`TrackPart`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum MemberPart {
    /// It ran on some of the track's windows.
    Analysed {
        /// The track's number of windows for this member.
        total: usize,
        /// The windows this run analysed, by ascending index.
        windows: Vec<AnalysedWindow>,
    },
    /// It does not apply to this input (e.g. too short for it).
    Skipped {
        /// Why.
        reason: String,
    },
    /// This run left it for another part (a table member after a first answer).
    Deferred,
    /// It could not run in this part because its clip descriptors could not be had (the
    /// page's descriptor module did not load or failed); the part keeps the other members'
    /// rows, and a merged result leaves this member out with this reason.
    Failed {
        /// Why (the descriptor source's error).
        reason: String,
    },
}

/// One run's share of a track: the input's level and each member's rows, in bundle order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPart {
    /// The input's level (the same for every part of one track).
    pub level: SignalLevel,
    /// Each member's share, in bundle order.
    pub members: Vec<MemberPart>,
}

/// How much of a track a result covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Coverage {
    /// Windows of the primary (timeline) member analysed.
    pub analysed: usize,
    /// Windows that member has in the whole track.
    pub total: usize,
    /// Every member ran (or does not apply) and every window was analysed.
    pub complete: bool,
}

/// The windows of one member over all `parts` (each index once, ascending) and the track's
/// window count; `None` when no part analysed it.
pub(crate) fn gather(parts: &[TrackPart], member: usize) -> Option<(usize, Vec<AnalysedWindow>)> {
    let mut total = None;
    let mut windows: Vec<AnalysedWindow> = Vec::new();
    for part in parts {
        if let Some(MemberPart::Analysed { total: t, windows: w }) = part.members.get(member) {
            total = Some(total.map_or(*t, |old: usize| old.max(*t)));
            windows.extend(w.iter().cloned());
        }
    }
    windows.sort_by_key(|w| w.index);
    windows.dedup_by_key(|w| w.index);
    total.map(|t| (t, windows))
}

/// Why member `member` is missing from every part: its own reason when a part skipped it or
/// it failed there, else that it was deferred.
pub(crate) fn missing_reason(parts: &[TrackPart], member: usize) -> String {
    parts
        .iter()
        .find_map(|p| match p.members.get(member) {
            Some(MemberPart::Skipped { reason }) => Some(reason.clone()),
            Some(MemberPart::Failed { reason }) => Some(failure_reason(reason)),
            _ => None,
        })
        .unwrap_or_else(|| "not analysed yet: it runs after the first answer".to_string())
}

/// Whether some part analysed at least one window of member `member`.
pub(crate) fn has_rows(parts: &[TrackPart], member: usize) -> bool {
    parts.iter().any(|p| {
        matches!(p.members.get(member), Some(MemberPart::Analysed { windows, .. }) if !windows.is_empty())
    })
}

/// The descriptor source's error that made member `member` fail in one of `parts`, if any.
pub(crate) fn failure(parts: &[TrackPart], member: usize) -> Option<&str> {
    parts.iter().find_map(|p| match p.members.get(member) {
        Some(MemberPart::Failed { reason }) => Some(reason.as_str()),
        _ => None,
    })
}

/// A descriptor source's error as the reason a member is left out.
fn failure_reason(source: &str) -> String {
    format!("its clip descriptors could not be computed: {source}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_answer_and_rest_shares_cover_every_window_once() {
        for total in [0, 1, 2, 3, 7, 10, 100, 101] {
            let first = PatchSelection::Spread { count: 3 }.indices(total, None);
            let mut seen = first.clone();
            for part in 0..3 {
                seen.extend(PatchSelection::Rest { after: 3, part, parts: 3 }.indices(total, None));
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..total).collect::<Vec<_>>(), "total {total}");
        }
        assert_eq!(PatchSelection::Spread { count: 3 }.indices(10, None), vec![0, 5, 9]);
        assert_eq!(
            PatchSelection::Rest { after: 3, part: 1, parts: 2 }.indices(10, None),
            vec![2, 4, 7]
        );
    }

    #[test]
    fn configured_follows_the_bundle_limit() {
        assert_eq!(PatchSelection::Configured.indices(4, None), vec![0, 1, 2, 3]);
        assert_eq!(PatchSelection::Configured.indices(10, Some(3)), vec![0, 5, 9]);
        assert_eq!(PatchSelection::All.indices(10, Some(3)).len(), 10);
    }

    #[test]
    fn selections_read_from_json() {
        let s: PatchSelection =
            serde_json::from_str(r#"{"kind":"rest","after":3,"part":0,"parts":2}"#).unwrap();
        assert_eq!(s, PatchSelection::Rest { after: 3, part: 0, parts: 2 });
        let s: PatchSelection = serde_json::from_str(r#"{"kind":"spread","count":3}"#).unwrap();
        assert_eq!(s, PatchSelection::Spread { count: 3 });
    }
}
