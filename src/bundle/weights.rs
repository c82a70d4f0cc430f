//! The weights section: Burn's burnpack record of a [`GenreNet`], written with
//! `into_record().into_bytes()` and read back with checks that name the offending parameter.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType, Tensor};

use super::error::BundleError;
use crate::model::GenreNet;

/// Serialises the model's parameters (and batch-norm running statistics) as burnpack bytes.
pub fn encode(model: &GenreNet) -> Result<Vec<u8>, BundleError> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| BundleError::Serialise(format!("weights: {e}")))?;
    Ok(bytes.to_vec())
}

/// Loads burnpack `bytes` into `model` (built from the header's architecture).
///
/// Before Burn sees the record, every stored tensor is checked against the model: same set of
/// parameter paths, same shapes, f32 data. So a mismatch gets a named error rather than a
/// panic, and no tensor is allocated from a shape the architecture did not ask for.
pub fn decode(model: GenreNet, bytes: &[u8]) -> Result<GenreNet, BundleError> {
    let mut expected = ExpectedParams::default();
    model.visit(&mut expected);
    let mut expected = expected.params;

    let unreadable = |e: burn_pack::Error| BundleError::UnreadableWeights(e.to_string());
    let reader =
        burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(unreadable)?;
    for tensor in reader.into_tensors().map_err(unreadable)? {
        let Some(shape) = expected.remove(&tensor.name) else {
            return Err(BundleError::UnexpectedWeight { parameter: tensor.name });
        };
        if tensor.dtype != DType::F32 {
            return Err(BundleError::WeightDType {
                parameter: tensor.name,
                found: format!("{:?}", tensor.dtype),
            });
        }
        if tensor.shape.as_slice() != shape.as_slice() {
            return Err(BundleError::WeightShapeMismatch {
                parameter: tensor.name,
                expected: shape,
                found: tensor.shape.as_slice().to_vec(),
            });
        }
        check_finite(tensor)?;
    }
    if let Some(parameter) = expected.into_keys().next() {
        return Err(BundleError::MissingWeight { parameter });
    }

    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| BundleError::UnreadableWeights(e.to_string()))?;
    model.try_load_record(record).map_err(|e| BundleError::WeightsRejected(e.to_string()))
}

/// Fails on the first NaN or infinite value of an f32 tensor (a diverged or corrupt model).
fn check_finite(tensor: burn_pack::Tensor) -> Result<(), BundleError> {
    let name = tensor.name.clone();
    let data = tensor.into_bytes().map_err(|e| BundleError::UnreadableWeights(e.to_string()))?;
    let bad = data
        .chunks_exact(4)
        .position(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite());
    match bad {
        Some(index) => Err(BundleError::NonFiniteWeight { parameter: name, index }),
        None => Ok(()),
    }
}

/// Checks that freshly encoded weights are all finite, so a diverged model is never saved.
pub fn check_encoded(bytes: &[u8]) -> Result<(), BundleError> {
    let unreadable = |e: burn_pack::Error| BundleError::Serialise(format!("weights: {e}"));
    let reader =
        burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(unreadable)?;
    for tensor in reader.into_tensors().map_err(unreadable)? {
        if tensor.dtype == DType::F32 {
            check_finite(tensor)?;
        }
    }
    Ok(())
}

/// Collects each float parameter's module path and shape without initialising it, using the
/// same path scheme as Burn's record (`network.Cnn.blocks.0.conv.weight`).
#[derive(Default)]
struct ExpectedParams {
    path: Vec<String>,
    params: BTreeMap<String, Vec<usize>>,
}

impl ModuleVisitor for ExpectedParams {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.params.insert(self.path.join("."), param.lazy_shape().as_slice().to_vec());
    }
}
