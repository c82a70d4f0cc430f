//! A network's stored parameters by path, and the expected paths and shapes that
//! [`read_params`](crate::bundle) checks a bundle against.

use std::collections::BTreeMap;

use super::super::musicnn_cpu::affine::ChannelAffine;
use crate::bundle::{BundleError, StoredParam};

/// Every parameter path of a network and its shape, as Burn's record names them
/// (`network.Musicnn.backbone.timbral.0.conv.weight`).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Expected(pub(crate) BTreeMap<String, Vec<usize>>);

impl Expected {
    /// Adds `path` with `shape`.
    pub(crate) fn add(&mut self, path: String, shape: Vec<usize>) {
        self.0.insert(path, shape);
    }

    /// A Burn `BatchNorm` of `n` channels at `path`.
    pub(crate) fn batch_norm(&mut self, path: &str, n: usize) {
        for field in ["gamma", "beta", "running_mean", "running_var"] {
            self.add(format!("{path}.{field}"), vec![n]);
        }
    }

    /// A Burn `Linear` from `d_in` to `d_out` at `path` (weight `[d_in, d_out]`, bias).
    pub(crate) fn linear(&mut self, path: &str, d_in: usize, d_out: usize) {
        self.add(format!("{path}.weight"), vec![d_in, d_out]);
        self.add(format!("{path}.bias"), vec![d_out]);
    }
}

/// Checked parameters by path (their shapes are those [`Expected`] gave).
pub(crate) struct Params(BTreeMap<String, Vec<f32>>);

impl Params {
    /// The parameters [`read_params`](crate::bundle) gave.
    pub(crate) fn new(params: Vec<StoredParam>) -> Self {
        Params(params.into_iter().map(|p| (p.name, p.values)).collect())
    }

    /// The values at `path`, taken out.
    pub(crate) fn take(&mut self, path: &str) -> Result<Vec<f32>, BundleError> {
        self.0.remove(path).ok_or_else(|| BundleError::MissingWeight { parameter: path.into() })
    }

    /// The inference map of the batch norm at `path` (epsilon `epsilon`).
    pub(crate) fn batch_norm(
        &mut self,
        path: &str,
        epsilon: f32,
    ) -> Result<ChannelAffine, BundleError> {
        let mut field = |name: &str| self.take(&format!("{path}.{name}"));
        let (gamma, beta) = (field("gamma")?, field("beta")?);
        let (mean, var) = (field("running_mean")?, field("running_var")?);
        Ok(ChannelAffine::new(&gamma, &beta, &mean, &var, epsilon))
    }
}
