//! [`TableModel`]: a table-model bundle that classifies a track from its clip
//! descriptors (the 57 columns of the GTZAN feature table, computed by
//! [`descriptors`](crate::descriptors) on windows of the track).
//!
//! Stages: [`TableModel::features`] (descriptor windows of 22050 Hz mono PCM, selected
//! and standardised as in training) -> [`TableModel::infer`] (the network, softmax per
//! window, mean per track). The network is tiny, so it always runs on the CPU, without Burn
//! ([`PlainTableNet`]).

use std::ops::Range;

use super::model::{AnalyseFuture, Analysis, Describer, Model, RunContext};
use super::parts::{AnalysedWindow, PatchSelection};
use super::{softmax, Classification, ClassifyError, WindowResult};
use crate::bundle::{DescriptorInput, ModelKind, TableBundle, TableHeader};
use crate::descriptors::{N_COLUMNS, N_FFT};
use crate::model::plain::PlainTableNet;
use crate::segment::spread_evenly;

/// The standardised descriptor vectors of a track's windows.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFeatures {
    /// Samples (at the model's rate) each window covers.
    pub spans: Vec<Range<usize>>,
    /// Values per vector (the model's input size).
    pub dim: usize,
    /// `spans.len() * dim` values, window-major.
    pub vectors: Vec<f32>,
}

/// A loaded table model.
pub struct TableModel {
    header: TableHeader,
    net: PlainTableNet,
    columns: Vec<usize>,
}

impl TableModel {
    /// Loads a table-model bundle (on the CPU), checking it completely.
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, ClassifyError> {
        let (header, net) = TableBundle::plain_from_bytes(bytes)?;
        let columns = header.descriptors.column_indices()?;
        Ok(TableModel { header, net, columns })
    }

    /// The bundle header.
    pub fn header(&self) -> &TableHeader {
        &self.header
    }

    /// The descriptor vectors of mono PCM at the model's rate: the header's windows (at most
    /// `max_windows`, evenly spread), each described on its own by this build's descriptor
    /// code.
    #[cfg(feature = "descriptors")]
    pub fn features(&self, samples: &[f32]) -> Result<TableFeatures, ClassifyError> {
        self.features_with(samples, None)
    }

    /// [`features`](Self::features), each window described by `describer` when one is given
    /// (the browser's CPU engine: the descriptor module), else by this build's own code;
    /// a build without it (no `descriptors` feature) then fails with
    /// [`ClassifyError::DescriptorSource`].
    pub fn features_with(
        &self,
        samples: &[f32],
        describer: Option<&Describer<'_>>,
    ) -> Result<TableFeatures, ClassifyError> {
        let input = &self.header.descriptors;
        let mut spans = input.windowing.spans(samples.len(), self.sample_rate());
        if let Some(max) = input.max_windows {
            let keep = spread_evenly((0..spans.len()).collect(), max);
            spans = keep.into_iter().map(|i| spans[i].clone()).collect();
        }
        if spans.is_empty() {
            return Err(ClassifyError::NoWindows);
        }
        let dim = self.columns.len();
        let mut vectors = Vec::with_capacity(spans.len() * dim);
        for span in &spans {
            let window = &samples[span.clone()];
            let values = match describer {
                Some(describe) => self.checked(describe(window, self.sample_rate()))?,
                None => describe_here(window, self.sample_rate())?,
            };
            vectors.extend(self.standardise(&values));
        }
        Ok(TableFeatures { spans, dim, vectors })
    }

    /// A describer's answer, refused unless it has every column and only finite values.
    fn checked(&self, values: Result<Vec<f64>, String>) -> Result<Vec<f64>, ClassifyError> {
        let values = values.map_err(ClassifyError::DescriptorSource)?;
        if values.len() != N_COLUMNS {
            return Err(ClassifyError::DescriptorSource(format!(
                "{} values came back for one window, {N_COLUMNS} were expected",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ClassifyError::DescriptorSource(format!(
                "value {i} of the window's descriptors is not finite"
            )));
        }
        Ok(values)
    }

    /// The network's input from one window's descriptors (all of them, in
    /// [`column_names`](crate::descriptors::column_names) order): the header's columns,
    /// standardised with its training statistics.
    pub fn standardise(&self, values: &[f64]) -> Vec<f32> {
        let input = &self.header.descriptors;
        self.columns
            .iter()
            .zip(&input.mean)
            .zip(&input.std)
            .map(|((&c, m), s)| ((values[c] - m) / s) as f32)
            .collect()
    }

    /// Runs the network on every window: softmax per window, mean per track.
    pub fn infer(&self, features: &TableFeatures) -> Result<Classification, ClassifyError> {
        let n = features.spans.len();
        if n == 0 {
            return Err(ClassifyError::NoWindows);
        }
        let logits = self.net.forward(&features.vectors, features.dim);
        let rate = self.sample_rate() as f64;
        let windows = features
            .spans
            .iter()
            .zip(logits.chunks_exact(self.labels().len()))
            .map(|(span, row)| WindowResult {
                start_seconds: span.start as f64 / rate,
                end_seconds: span.end as f64 / rate,
                padded: false,
                probabilities: softmax(row),
            })
            .collect();
        Ok(Classification::from_windows(self.header.labels.clone(), windows))
    }
}

impl Model for TableModel {
    fn kind(&self) -> ModelKind {
        ModelKind::Table
    }

    fn labels(&self) -> &[String] {
        &self.header.labels
    }

    /// The rate the descriptors are computed at, in Hz.
    fn sample_rate(&self) -> u32 {
        self.header.descriptors.sample_rate
    }

    /// Shorter than the header's `min_seconds`, or than one FFT frame.
    fn not_applicable(&self, n_samples: usize) -> Option<String> {
        too_short(&self.header.descriptors, n_samples)
    }

    /// Descriptor windows are the model's own choice; `selection` is not used.
    fn analyse(
        &self,
        samples: &[f32],
        _selection: PatchSelection,
        ctx: &mut RunContext,
    ) -> Result<Analysis, ClassifyError> {
        let start = ctx.now();
        let features = self.features_with(samples, ctx.describer())?;
        let described = ctx.now();
        ctx.features_ms += described - start;
        let result = self.infer(&features)?;
        ctx.inference_ms += ctx.now() - described;
        let windows: Vec<AnalysedWindow> = result
            .windows
            .into_iter()
            .enumerate()
            .map(|(index, window)| AnalysedWindow {
                index,
                window,
                tags: Vec::new(),
                detector: Vec::new(),
            })
            .collect();
        Ok(Analysis { total: windows.len(), windows })
    }

    /// The network is tiny and always on the CPU: the same as [`analyse`](Model::analyse).
    fn analyse_async<'a>(
        &'a self,
        samples: &'a [f32],
        selection: PatchSelection,
        ctx: &'a mut RunContext,
    ) -> AnalyseFuture<'a> {
        Box::pin(std::future::ready(self.analyse(samples, selection, ctx)))
    }

    /// Mean window probabilities and votes.
    fn conclude(&self, windows: &[AnalysedWindow]) -> Classification {
        Classification::from_windows(
            self.header.labels.clone(),
            windows.iter().map(|w| w.window.clone()).collect(),
        )
    }
}

/// Why a table model reading `descriptors` does not apply to `n_samples` at its rate (shorter
/// than its `min_seconds`, or than one FFT frame), or `None`.
pub(super) fn too_short(descriptors: &DescriptorInput, n_samples: usize) -> Option<String> {
    let seconds = n_samples as f64 / descriptors.sample_rate as f64;
    let min = descriptors.min_seconds;
    if seconds < min {
        Some(format!("it needs at least {min} s of audio, this is {seconds:.1} s"))
    } else if n_samples < N_FFT {
        Some(format!("it needs at least {N_FFT} samples, this has {n_samples}"))
    } else {
        None
    }
}

/// One window's descriptors computed by this build's own code.
#[cfg(feature = "descriptors")]
fn describe_here(window: &[f32], sample_rate: u32) -> Result<Vec<f64>, ClassifyError> {
    Ok(crate::descriptors::describe(window, sample_rate)?)
}

/// A build without the descriptor code computes none: the caller must give a describer.
#[cfg(not(feature = "descriptors"))]
fn describe_here(_window: &[f32], _sample_rate: u32) -> Result<Vec<f64>, ClassifyError> {
    Err(ClassifyError::DescriptorSource(
        "this build has no descriptor code and no descriptor module was given".to_string(),
    ))
}
