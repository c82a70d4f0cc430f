//! [`Verdict`]: what the answer is, in one word a user can act on. Decided in this order:
//! 1. `silent`: the level rule found less signal than the gate's minimum
//!    ([`SignalLevel::silent`]);
//! 2. `not_music`: the music detector's probability is below its threshold;
//! 3. `uncertain`: the top calibrated probability is below the model's `uncertain_below`
//!    (the verdict names the top two labels);
//! 4. `genre`: the top label.
//!
//! The probabilities stay in the result whatever the verdict.

use serde::Serialize;

use super::{MusicScore, SignalLevel};
use crate::classify::LabelScore;

/// The four kinds of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// A confident genre.
    Genre,
    /// Music, but no genre is likely enough: the two most likely are named.
    Uncertain,
    /// Speech, animals, noise, ...: not music.
    NotMusic,
    /// No signal, or less than the gate's minimum.
    Silent,
}

impl VerdictKind {
    /// The name used in JSON, CSV and the page's `data-verdict` (`genre`, `uncertain`,
    /// `not_music`, `silent`).
    pub fn name(self) -> &'static str {
        match self {
            VerdictKind::Genre => "genre",
            VerdictKind::Uncertain => "uncertain",
            VerdictKind::NotMusic => "not_music",
            VerdictKind::Silent => "silent",
        }
    }
}

/// The verdict on one result (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Which kind of answer.
    pub kind: VerdictKind,
    /// The genre, for `genre`.
    pub label: Option<String>,
    /// The two most likely genres, for `uncertain`.
    pub candidates: Vec<String>,
    /// The top probability (calibrated).
    pub confidence: f32,
    /// The verdict for people: `rock`, `Unsure: rock or pop?`, `Not music`, `Silence`.
    pub text: String,
}

/// What a verdict is decided from.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Every label, most likely first (calibrated).
    pub ranking: &'a [LabelScore],
    /// The input's level, when it was measured.
    pub level: Option<&'a SignalLevel>,
    /// The music detector's score, when the model has one.
    pub music: Option<&'a MusicScore>,
    /// The model's `uncertain` threshold (0: never uncertain).
    pub uncertain_below: f32,
}

impl Verdict {
    /// Decides the verdict (see the module docs).
    pub fn decide(evidence: Evidence) -> Self {
        let confidence = evidence.ranking.first().map_or(0.0, |s| s.probability);
        let verdict = |kind, label: Option<String>, candidates: Vec<String>, text: String| {
            Verdict { kind, label, candidates, confidence, text }
        };
        if evidence.level.is_some_and(|l| l.silent) {
            return verdict(VerdictKind::Silent, None, Vec::new(), "Silence".into());
        }
        if evidence.music.is_some_and(|m| !m.is_music()) {
            return verdict(VerdictKind::NotMusic, None, Vec::new(), "Not music".into());
        }
        let Some(first) = evidence.ranking.first() else {
            return verdict(VerdictKind::Uncertain, None, Vec::new(), "Unsure".into());
        };
        if first.probability < evidence.uncertain_below {
            let candidates: Vec<String> =
                evidence.ranking.iter().take(2).map(|s| s.label.clone()).collect();
            let text = format!("Unsure: {}?", candidates.join(" or "));
            return verdict(VerdictKind::Uncertain, None, candidates, text);
        }
        verdict(VerdictKind::Genre, Some(first.label.clone()), Vec::new(), first.label.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking() -> Vec<LabelScore> {
        [("rock", 0.45), ("pop", 0.35), ("jazz", 0.2)]
            .iter()
            .map(|&(l, p)| LabelScore { label: l.into(), probability: p })
            .collect()
    }

    fn level(silent: bool) -> SignalLevel {
        SignalLevel {
            seconds: 10.0,
            active_seconds: if silent { 0.0 } else { 10.0 },
            rms_dbfs: if silent { -200.0 } else { -20.0 },
            dc_offset: 0.0,
            scaled_by: 1.0,
            silent,
        }
    }

    #[test]
    fn each_kind_in_its_order() {
        let r = ranking();
        let loud = level(false);
        let quiet = level(true);
        let music = MusicScore { probability: 0.9, threshold: 0.5 };
        let speech = MusicScore { probability: 0.1, threshold: 0.5 };
        let decide = |level, music, uncertain_below| {
            Verdict::decide(Evidence { ranking: &r, level, music, uncertain_below })
        };
        let v = decide(Some(&quiet), Some(&speech), 0.9);
        assert_eq!((v.kind, v.text.as_str()), (VerdictKind::Silent, "Silence"));
        let v = decide(Some(&loud), Some(&speech), 0.9);
        assert_eq!((v.kind, v.text.as_str()), (VerdictKind::NotMusic, "Not music"));
        let v = decide(Some(&loud), Some(&music), 0.5);
        assert_eq!(v.kind, VerdictKind::Uncertain);
        assert_eq!(v.candidates, ["rock", "pop"]);
        assert_eq!(v.text, "Unsure: rock or pop?");
        assert_eq!(v.confidence, 0.45);
        let v = decide(None, None, 0.4);
        assert_eq!((v.kind, v.label.as_deref()), (VerdictKind::Genre, Some("rock")));
        assert_eq!(VerdictKind::NotMusic.name(), "not_music");
        assert_eq!(serde_json::to_value(VerdictKind::NotMusic).unwrap(), "not_music");
    }
}
