//! The descriptor-vector networks in Burn (see the parent module).

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::super::blocks::{dense_stack, forward_dense_stack, DenseBlock};
use super::TableArchitecture;

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
