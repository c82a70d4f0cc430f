//! Networks on one vector of track descriptors per track (the feature-table model): an MLP,
//! and the 1-D CNN of the third study (two convs with ReLU and max-pooling over the
//! descriptor vector, two dense layers).
//!
//! Inputs are standardised descriptor vectors `[batch, n_inputs]`; outputs one logit per
//! label.

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::blocks::{dense_stack, forward_dense_stack, DenseBlock};

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

/// See [`TableArchitecture::Mlp`].
#[derive(Module, Debug)]
pub struct TableMlp {
    /// Hidden dense blocks.
    pub hidden: Vec<DenseBlock>,
    /// The output layer.
    pub out: Linear,
}

/// A 1-D conv (same padding), ReLU, max-pool by 2: `[batch, c_in, n]` to
/// `[batch, c_out, n / 2]`.
#[derive(Module, Debug)]
pub struct VectorConvBlock {
    /// The convolution.
    pub conv: Conv1d,
    /// Max-pool of width and stride 2.
    pub pool: MaxPool1d,
}

/// See [`TableArchitecture::Cnn1d`].
#[derive(Module, Debug)]
pub struct TableCnn1d {
    /// The two conv blocks.
    pub convs: Vec<VectorConvBlock>,
    /// The dense layer after flattening.
    pub dense: Linear,
    /// Dropout after the dense layer (training only).
    pub dropout: Dropout,
    /// The output layer.
    pub out: Linear,
}

/// A descriptor-vector network.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TableNet {
    /// See [`TableArchitecture::Mlp`].
    Mlp(TableMlp),
    /// See [`TableArchitecture::Cnn1d`].
    Cnn1d(TableCnn1d),
}

impl TableNet {
    /// The network `arch` describes for `n_inputs` descriptors and `n_labels` outputs, with
    /// fresh weights on `device`; fails as [`TableArchitecture::validate`] does.
    pub fn new(
        arch: &TableArchitecture,
        n_inputs: usize,
        n_labels: usize,
        device: &Device,
    ) -> Result<Self, String> {
        arch.validate(n_inputs, n_labels)?;
        Ok(match arch {
            TableArchitecture::Mlp { hidden, dropout } => {
                let last = hidden.last().copied().unwrap_or(n_inputs);
                TableNet::Mlp(TableMlp {
                    hidden: dense_stack(n_inputs, hidden, *dropout, device),
                    out: LinearConfig::new(last, n_labels).init(device),
                })
            }
            TableArchitecture::Cnn1d { filters, kernel, dense, dropout } => {
                let block = |c_in: usize, c_out: usize| VectorConvBlock {
                    conv: Conv1dConfig::new(c_in, c_out, *kernel)
                        .with_padding(PaddingConfig1d::Same)
                        .init(device),
                    pool: MaxPool1dConfig::new(2).init(),
                };
                let flat = filters[1] * (n_inputs / 2 / 2);
                TableNet::Cnn1d(TableCnn1d {
                    convs: vec![block(1, filters[0]), block(filters[0], filters[1])],
                    dense: LinearConfig::new(flat, *dense).init(device),
                    dropout: DropoutConfig::new(*dropout).init(),
                    out: LinearConfig::new(*dense, n_labels).init(device),
                })
            }
        })
    }

    /// Logits `[batch, n_labels]` from standardised descriptor vectors `[batch, n_inputs]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            TableNet::Mlp(mlp) => mlp.out.forward(forward_dense_stack(&mlp.hidden, x)),
            TableNet::Cnn1d(cnn) => {
                let [batch, n] = x.dims();
                let mut y = x.reshape([batch, 1, n]);
                for block in &cnn.convs {
                    y = block.pool.forward(relu(block.conv.forward(y)));
                }
                let [_, channels, length] = y.dims();
                let flat = y.reshape([batch, channels * length]);
                cnn.out.forward(cnn.dropout.forward(relu(cnn.dense.forward(flat))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn both_networks_map_descriptor_vectors_to_logits() {
        let device = Device::flex();
        for (arch, n) in [
            (TableArchitecture::mlp_default(), 57),
            (TableArchitecture::cnn1d_default(), 57),
            (TableArchitecture::cnn1d_default(), 4),
        ] {
            let net = TableNet::new(&arch, n, 10, &device).unwrap();
            let values: Vec<f32> = (0..3 * n).map(|i| (i as f32 * 0.37).sin()).collect();
            let logits = net.forward(Tensor::from_data(TensorData::new(values, [3, n]), &device));
            assert_eq!(logits.dims(), [3, 10], "{}", arch.kind());
            assert!(logits.into_data().try_to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn bad_table_configs_are_named() {
        let device = Device::flex();
        assert!(TableNet::new(&TableArchitecture::cnn1d_default(), 3, 10, &device)
            .unwrap_err()
            .contains("at least 4 inputs"));
        let zero = TableArchitecture::Mlp { hidden: vec![0], dropout: 0.1 };
        assert!(TableNet::new(&zero, 57, 10, &device).unwrap_err().contains("hidden"));
        let drop = TableArchitecture::Mlp { hidden: vec![8], dropout: 1.0 };
        assert!(drop.validate(57, 10).unwrap_err().contains("dropout"));
        let json = serde_json::to_string(&TableArchitecture::cnn1d_default()).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"cnn1d","filters":[32,64],"kernel":3,"dense":128,"dropout":0.3}"#
        );
    }
}
