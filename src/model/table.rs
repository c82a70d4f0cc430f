//! Networks on one vector of track descriptors per track (the feature-table model): an MLP,
//! and the 1-D CNN of the third study (two convs with ReLU and max-pooling over the
//! descriptor vector, two dense layers).
//!
//! Inputs are standardised descriptor vectors `[batch, n_inputs]`; outputs one logit per
//! label.

use serde::{Deserialize, Serialize};

#[cfg(feature = "burn")]
mod network;
#[cfg(feature = "burn")]
pub use network::*;

/// Hidden units of the default MLP.
pub const MLP_HIDDEN: [usize; 2] = [256, 128];

/// The layers of a descriptor-vector network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TableArchitecture {
    /// Dense blocks (linear, batch norm, ReLU, dropout) of `hidden` units, then the output.
    Mlp {
        /// Units of each hidden block.
        hidden: Vec<usize>,
        /// Dropout after each hidden block.
        dropout: f64,
    },
    /// Two 1-D convs over the vector (same padding, ReLU, max-pool by 2), a dense ReLU layer
    /// with dropout, then the output.
    Cnn1d {
        /// Filters of the two convs.
        filters: [usize; 2],
        /// Kernel width of both convs.
        kernel: usize,
        /// Units of the dense layer.
        dense: usize,
        /// Dropout after the dense layer.
        dropout: f64,
    },
}

impl TableArchitecture {
    /// What the network is, in a few words for people (e.g. on the page).
    pub fn description(&self) -> &'static str {
        match self {
            TableArchitecture::Mlp { .. } => "descriptor-table MLP",
            TableArchitecture::Cnn1d { .. } => "descriptor-table 1-D CNN",
        }
    }

    /// The MLP: [`MLP_HIDDEN`] units, dropout 0.5.
    pub fn mlp_default() -> Self {
        TableArchitecture::Mlp { hidden: MLP_HIDDEN.to_vec(), dropout: 0.5 }
    }

    /// The study's 1-D CNN: 32 and 64 filters of width 3, dense 128, dropout 0.3.
    pub fn cnn1d_default() -> Self {
        TableArchitecture::Cnn1d { filters: [32, 64], kernel: 3, dense: 128, dropout: 0.3 }
    }

    /// Short name (`mlp`, `cnn1d`).
    pub fn kind(&self) -> &'static str {
        match self {
            TableArchitecture::Mlp { .. } => "mlp",
            TableArchitecture::Cnn1d { .. } => "cnn1d",
        }
    }

    /// Checks the config for `n_inputs` descriptors, naming the problem.
    pub fn validate(&self, n_inputs: usize, n_labels: usize) -> Result<(), String> {
        if n_inputs == 0 || n_labels == 0 {
            return Err(format!("a table network needs inputs and labels (got {n_inputs} inputs, {n_labels} labels)"));
        }
        let dropout = match self {
            TableArchitecture::Mlp { hidden, dropout } => {
                if hidden.contains(&0) {
                    return Err("every hidden layer needs at least one unit".into());
                }
                *dropout
            }
            TableArchitecture::Cnn1d { filters, kernel, dense, dropout } => {
                if filters.contains(&0) || *kernel == 0 || *dense == 0 {
                    return Err(format!("the 1-D CNN needs positive sizes (filters {filters:?}, kernel {kernel}, dense {dense})"));
                }
                if n_inputs < 4 {
                    return Err(format!(
                        "the 1-D CNN pools twice by 2 and needs at least 4 inputs, got {n_inputs}"
                    ));
                }
                *dropout
            }
        };
        if !(0.0..1.0).contains(&dropout) {
            return Err(format!("dropout must be in [0, 1), got {dropout}"));
        }
        Ok(())
    }
}
