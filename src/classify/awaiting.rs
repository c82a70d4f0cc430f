//! [`AwaitingWeights`]: the stand-in for a detached fusion member whose bundle has not been
//! attached yet (see [`Ensemble::attach`](super::Ensemble::attach)). It knows the member's
//! kind, labels, rate and shortest input from the header the fusion keeps, so it applies to
//! the input the loaded member would (a first look defers it, too short input skips it);
//! running it fails with [`ClassifyError::AwaitingWeights`], which the ensemble turns into the
//! member left out, with why.

use super::model::{AnalyseFuture, Analysis, Model, RunContext};
use super::parts::{AnalysedWindow, PatchSelection};
use super::table;
use super::{Classification, ClassifyError};
use crate::bundle::{Header, ModelKind};

/// A detached member not attached yet.
pub(super) struct AwaitingWeights {
    name: String,
    file: String,
    header: Header,
    sample_rate: u32,
}

impl AwaitingWeights {
    /// The stand-in for member `name`, whose header is `header` and bundle is in `file`.
    pub(super) fn new(name: &str, file: &str, header: &Header) -> Self {
        let sample_rate = match header {
            Header::Spectrogram(h) => h.feature_config.sample_rate,
            Header::Table(h) => h.descriptors.sample_rate,
            Header::Fusion(_) => 0,
        };
        AwaitingWeights {
            name: name.to_string(),
            file: file.to_string(),
            header: header.clone(),
            sample_rate,
        }
    }

    fn error(&self) -> ClassifyError {
        ClassifyError::AwaitingWeights { member: self.name.clone(), file: self.file.clone() }
    }
}

impl Model for AwaitingWeights {
    fn kind(&self) -> ModelKind {
        self.header.kind()
    }

    fn labels(&self) -> &[String] {
        self.header.labels()
    }

    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Too short for the member, as its header says (only table members detach).
    fn not_applicable(&self, n_samples: usize) -> Option<String> {
        match &self.header {
            Header::Table(h) => table::too_short(&h.descriptors, n_samples),
            _ => None,
        }
    }

    fn analyse(
        &self,
        _samples: &[f32],
        _selection: PatchSelection,
        _ctx: &mut RunContext,
    ) -> Result<Analysis, ClassifyError> {
        Err(self.error())
    }

    fn analyse_async<'a>(
        &'a self,
        _samples: &'a [f32],
        _selection: PatchSelection,
        _ctx: &'a mut RunContext,
    ) -> AnalyseFuture<'a> {
        Box::pin(std::future::ready(Err(self.error())))
    }

    /// The mean of `windows`, as a table model concludes (only table members detach): so an
    /// engine still waiting merges the windows another engine analysed with the member.
    fn conclude(&self, windows: &[AnalysedWindow]) -> Classification {
        Classification::from_windows(
            self.header.labels().to_vec(),
            windows.iter().map(|w| w.window.clone()).collect(),
        )
    }
}
