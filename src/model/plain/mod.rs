//! Burn-free inference: a bundle's network computed in plain Rust on f32 slices, from the
//! parameters [`read_params`](crate::bundle) reads. The classifier runs these on the CPU, where
//! they give the values of the Burn networks ([`GenreNet`](super::GenreNet),
//! [`TableNet`](super::table::TableNet)) with less code and fewer passes over memory; Burn
//! stays for training and for the GPU.
//!
//! - `params`: the stored parameters by path, and the paths and shapes a network expects.
//! - `dense`: dense layers and inference batch norm.
//! - `transfer`: the MusiCNN transfer network (backbone and genre head).
//! - `table`: the descriptor-table networks (MLP, 1-D CNN).

mod dense;
mod params;
mod table;
mod transfer;

pub use table::PlainTableNet;
pub use transfer::{PlainOutputs, PlainTransfer};

use crate::device::Device;

/// Whether the classifier runs the plain networks for `device`: the flex CPU device without
/// autodiff (training and WebGPU keep Burn's); always, without Burn.
pub fn serves(device: &Device) -> bool {
    #[cfg(feature = "burn")]
    return super::musicnn_cpu::applies(device);
    #[cfg(not(feature = "burn"))]
    {
        let _ = device;
        true
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests;
