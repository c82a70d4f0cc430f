//! The weights section: Burn's burnpack record of a network (a [`GenreNet`](crate::model::GenreNet)
//! or a [`TableNet`](crate::model::table::TableNet)), with its weight matrices
//! stored as the header's [`WeightStorage`] says, read back with checks that name the
//! offending parameter.
//!
//! The record is written with `into_record().into_bytes()`; for f16 and int8 storage its
//! f32 weight matrices are then replaced by F16 tensors, or by I8 tensors plus their
//! `<weight>:scale` tensors (see [`storage`](super::storage)). Reading reverses that before
//! Burn sees the record, so the model always holds f32 weights.

use std::collections::BTreeMap;

#[cfg(feature = "burn")]
use burn::module::{Module, ModuleVisitor, Param};
#[cfg(feature = "burn")]
use burn::store::ModuleRecord;
#[cfg(feature = "burn")]
use burn::tensor::Tensor;
use burn_pack::{Bytes, DType};
use half::f16;

use super::error::BundleError;
use super::storage::{self, WeightStorage, SCALE_SUFFIX};

#[cfg(feature = "burn")]
/// Serialises the model's parameters (and batch-norm running statistics) as burnpack bytes,
/// with the weight matrices in `storage` (integer storage: with the levels `levels` gives a
/// matrix, else the storage's). Fails if a weight is NaN or infinite, or (f16) beyond f16's
/// range, or `levels` names no weight matrix of the model.
pub(crate) fn encode<M: Module>(
    model: &M,
    storage: WeightStorage,
    levels: &BTreeMap<String, u8>,
) -> Result<Vec<u8>, BundleError> {
    let serialise = |e: String| BundleError::Serialise(format!("weights: {e}"));
    check_level_names(&weight_matrices(model), levels)?;
    let record = model.clone().into_record().into_bytes().map_err(|e| serialise(e.to_string()))?;
    let mut out = Vec::new();
    for tensor in read_tensors(&record).map_err(|e| serialise(e.to_string()))? {
        let (name, dtype, shape, id, data) =
            tensor.into_parts().map_err(|e| serialise(e.to_string()))?;
        if dtype != DType::F32 {
            out.push(burn_pack::Tensor::new(name, dtype, shape, id, data));
            continue;
        }
        let values = f32s(&data);
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(BundleError::NonFiniteWeight { parameter: name, index });
        }
        let dims = shape.as_slice().to_vec();
        if !storage.compacts(&dims) {
            out.push(burn_pack::Tensor::new(name, dtype, shape, id, data));
            continue;
        }
        match storage {
            WeightStorage::F32 => unreachable!("f32 storage compacts nothing"),
            WeightStorage::F16 => {
                let halves = storage::to_f16(&values).map_err(|i| {
                    BundleError::Serialise(format!(
                        "weight `{name}` holds {} (element {i}), beyond f16's range of ±65504; \
                         store the weights as f32 or int8",
                        values[i]
                    ))
                })?;
                let bytes = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
                out.push(burn_pack::Tensor::new(
                    name,
                    DType::F16,
                    shape,
                    id,
                    Bytes::from_bytes_vec(bytes),
                ));
            }
            WeightStorage::Int8 | WeightStorage::Int6 | WeightStorage::Int5 => {
                let q = storage::quantise(&values, &dims, levels_of(storage, levels, &name));
                let bytes = q.values.iter().map(|v| *v as u8).collect();
                let scales = q.scales.iter().flat_map(|s| s.to_le_bytes()).collect();
                let scale_name = format!("{name}{SCALE_SUFFIX}");
                out.push(burn_pack::Tensor::new(
                    name,
                    DType::I8,
                    shape,
                    id,
                    Bytes::from_bytes_vec(bytes),
                ));
                out.push(burn_pack::Tensor::new(
                    scale_name,
                    DType::F32,
                    q.scale_shape,
                    None,
                    Bytes::from_bytes_vec(scales),
                ));
            }
        }
    }
    burn_pack::Writer::new(out)
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| serialise(e.to_string()))
}

/// Refuses `weight_levels` entries that name none of a model's weight `matrices`.
fn check_level_names(
    matrices: &[String],
    levels: &BTreeMap<String, u8>,
) -> Result<(), BundleError> {
    match levels.keys().find(|name| !matrices.contains(name)) {
        Some(name) => Err(BundleError::InvalidHeaderField {
            field: "weight_levels",
            message: format!("`{name}` is not a weight matrix of this model"),
        }),
        None => Ok(()),
    }
}

/// The levels weight matrix `name` is stored with in an integer `storage`: its own in
/// `levels`, else the storage's.
fn levels_of(storage: WeightStorage, levels: &BTreeMap<String, u8>, name: &str) -> u8 {
    levels.get(name).copied().or(storage.int_levels()).unwrap_or(127)
}

#[cfg(feature = "burn")]
/// Loads burnpack `bytes` holding weights in `storage` into `model` (built from the header's
/// architecture), after [`read_params`] has checked them against the model's parameters.
pub(crate) fn decode<M: Module>(
    model: M,
    bytes: &[u8],
    storage: WeightStorage,
    levels: &BTreeMap<String, u8>,
) -> Result<M, BundleError> {
    let mut expected = ExpectedParams::default();
    model.visit(&mut expected);
    let params = read_params(bytes, storage, levels, expected.params)?;
    let tensors = params
        .into_iter()
        .map(|p| {
            let bytes =
                Bytes::from_bytes_vec(p.values.iter().flat_map(|v| v.to_le_bytes()).collect());
            burn_pack::Tensor::new(p.name, DType::F32, p.shape, p.param_id, bytes)
        })
        .collect();
    let f32_bytes = burn_pack::Writer::new(tensors)
        .into_bytes()
        .map_err(|e| BundleError::UnreadableWeights(e.to_string()))?;
    let record = ModuleRecord::from_bytes(f32_bytes)
        .map_err(|e| BundleError::UnreadableWeights(e.to_string()))?;
    model.try_load_record(record).map_err(|e| BundleError::WeightsRejected(e.to_string()))
}

/// One stored parameter, read back as f32 values (whatever the storage).
pub(crate) struct StoredParam {
    /// Its module path (`network.Musicnn.head.out.weight`).
    pub(crate) name: String,
    /// Its shape.
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    pub(crate) shape: Vec<usize>,
    /// Its values, row-major.
    pub(crate) values: Vec<f32>,
    /// Burn's parameter id, kept for the record.
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    param_id: Option<u64>,
}

/// Reads burnpack `bytes` holding weights in `storage` as f32 parameters, checked against
/// `expected` (every parameter's path and shape; `weight_levels` may name only its matrices).
///
/// Every stored tensor is checked: same set of parameter paths, same shapes, a data type the
/// storage allows (f32 always; f16 for `f16`; int8 with valid scales and values within the
/// matrix's levels for integer storage), finite values. So a mismatch gets a named error
/// rather than a panic, and nothing is allocated from a shape the architecture did not ask
/// for. Needs no Burn module: the Burn-free networks ([`crate::model::plain`]) read their
/// weights with it too.
pub(crate) fn read_params(
    bytes: &[u8],
    storage: WeightStorage,
    levels: &BTreeMap<String, u8>,
    mut expected: BTreeMap<String, Vec<usize>>,
) -> Result<Vec<StoredParam>, BundleError> {
    check_level_names(&matrices_of(&expected), levels)?;
    let unreadable = |e: burn_pack::Error| BundleError::UnreadableWeights(e.to_string());
    let mut tensors = Vec::new();
    let mut scales = BTreeMap::new();
    for tensor in read_tensors(bytes).map_err(unreadable)? {
        if storage.int_levels().is_some() && tensor.name.ends_with(SCALE_SUFFIX) {
            scales.insert(tensor.name.clone(), tensor);
        } else {
            tensors.push(tensor);
        }
    }

    let mut params = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        let Some(shape) = expected.remove(&tensor.name) else {
            return Err(BundleError::UnexpectedWeight { parameter: tensor.name });
        };
        let dtype = tensor.dtype;
        let allowed = match dtype {
            DType::F32 => true,
            DType::F16 => storage == WeightStorage::F16,
            DType::I8 => storage.int_levels().is_some(),
            _ => false,
        };
        if !allowed {
            return Err(BundleError::WeightDType {
                parameter: tensor.name,
                found: format!("{dtype:?}"),
                storage,
            });
        }
        if tensor.shape.as_slice() != shape.as_slice() {
            return Err(BundleError::WeightShapeMismatch {
                parameter: tensor.name,
                expected: shape,
                found: tensor.shape.as_slice().to_vec(),
            });
        }
        let (name, _, _, param_id, data) = tensor.into_parts().map_err(unreadable)?;
        let values = match dtype {
            DType::F32 => f32s(&data),
            DType::F16 => {
                data.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            _ => {
                let scale_name = format!("{name}{SCALE_SUFFIX}");
                let Some(scale) = scales.remove(&scale_name) else {
                    return Err(BundleError::MissingWeight { parameter: scale_name });
                };
                if scale.dtype != DType::F32 {
                    return Err(BundleError::WeightDType {
                        parameter: scale_name,
                        found: format!("{:?}", scale.dtype),
                        storage,
                    });
                }
                let scale_shape = scale.shape.as_slice().to_vec();
                let scale_values = f32s(&scale.into_bytes().map_err(unreadable)?);
                let q: Vec<i8> = data.iter().map(|b| *b as i8).collect();
                let most = levels_of(storage, levels, &name);
                if let Some(i) = q.iter().position(|v| v.unsigned_abs() > most) {
                    let range = if levels.contains_key(&name) {
                        "its weight_levels range".to_string()
                    } else {
                        format!("{storage}'s range")
                    };
                    return Err(BundleError::InvalidQuantisation {
                        parameter: name,
                        message: format!("value {i} is {}, beyond {range} of ±{most}", q[i]),
                    });
                }
                storage::dequantise(&q, &shape, &scale_values, &scale_shape).map_err(|message| {
                    BundleError::InvalidQuantisation { parameter: name.clone(), message }
                })?
            }
        };
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(BundleError::NonFiniteWeight { parameter: name, index });
        }
        params.push(StoredParam { name, shape, values, param_id });
    }
    if let Some(parameter) = expected.into_keys().next() {
        return Err(BundleError::MissingWeight { parameter });
    }
    if let Some(parameter) = scales.into_keys().next() {
        return Err(BundleError::UnexpectedWeight { parameter });
    }
    Ok(params)
}

#[cfg(feature = "burn")]
/// The model with its weights rounded the way `storage` stores them, i.e. the model a bundle
/// written with `storage` loads as. Computed in memory (without the compact tensors or their
/// encoding), so comparing it with a reloaded bundle checks the encoding.
pub fn rounded<M: Module>(model: &M, storage: WeightStorage) -> Result<M, BundleError> {
    rounded_with_levels(model, storage, &BTreeMap::new())
}

#[cfg(feature = "burn")]
/// [`rounded`] with some weight matrices at their own levels (see
/// [`SpectrogramHeader::weight_levels`](super::SpectrogramHeader::weight_levels)).
pub fn rounded_with_levels<M: Module>(
    model: &M,
    storage: WeightStorage,
    levels: &BTreeMap<String, u8>,
) -> Result<M, BundleError> {
    let serialise = |e: String| BundleError::Serialise(format!("weights: {e}"));
    let record = model.clone().into_record().into_bytes().map_err(|e| serialise(e.to_string()))?;
    let mut out = Vec::new();
    for tensor in read_tensors(&record).map_err(|e| serialise(e.to_string()))? {
        let (name, dtype, shape, id, data) =
            tensor.into_parts().map_err(|e| serialise(e.to_string()))?;
        let dims = shape.as_slice().to_vec();
        let data = if dtype == DType::F32 && storage.compacts(&dims) {
            let values = f32s(&data);
            let back: Vec<f32> = match storage {
                WeightStorage::Int8 | WeightStorage::Int6 | WeightStorage::Int5 => {
                    let q = storage::quantise(&values, &dims, levels_of(storage, levels, &name));
                    storage::dequantise(&q.values, &dims, &q.scales, &q.scale_shape)
                        .map_err(serialise)?
                }
                _ => values.iter().map(|v| f16::from_f32(*v).to_f32()).collect(),
            };
            Bytes::from_bytes_vec(back.iter().flat_map(|v| v.to_le_bytes()).collect())
        } else {
            data
        };
        out.push(burn_pack::Tensor::new(name, dtype, shape, id, data));
    }
    let bytes = burn_pack::Writer::new(out).into_bytes().map_err(|e| serialise(e.to_string()))?;
    let record = ModuleRecord::from_bytes(bytes).map_err(|e| serialise(e.to_string()))?;
    model.clone().try_load_record(record).map_err(|e| serialise(e.to_string()))
}

#[cfg(feature = "burn")]
/// The parameter paths of the model's weight matrices (rank 2 and up): what integer storage
/// quantises and `weight_levels` may name.
pub fn weight_matrices<M: Module>(model: &M) -> Vec<String> {
    let mut params = ExpectedParams::default();
    model.visit(&mut params);
    matrices_of(&params.params)
}

/// The paths of the weight matrices (rank 2 and up) among parameters of these shapes.
fn matrices_of(params: &BTreeMap<String, Vec<usize>>) -> Vec<String> {
    params.iter().filter(|(_, shape)| shape.len() >= 2).map(|(name, _)| name.clone()).collect()
}

fn read_tensors(bytes: &[u8]) -> Result<Vec<burn_pack::Tensor>, burn_pack::Error> {
    burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))?.into_tensors()
}

/// Little-endian f32 values of raw tensor bytes.
fn f32s(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(feature = "burn")]
/// Collects each float parameter's module path and shape without initialising it, using the
/// same path scheme as Burn's record (`network.Cnn.blocks.0.conv.weight`).
#[derive(Default)]
struct ExpectedParams {
    path: Vec<String>,
    params: BTreeMap<String, Vec<usize>>,
}

#[cfg(feature = "burn")]
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
