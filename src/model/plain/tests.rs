//! The Burn-free network against Burn's, through a bundle: random weights and batch-norm
//! statistics, every embedding, with and without the backbone's top and hidden layers, f32
//! and integer storage.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use super::super::musicnn::{MusicnnEmbedding, MusicnnTransfer, MSD_TAG_NAMES};
use super::super::musicnn_cpu::tests::{randomise_backbone, randomised, uniform};
use super::super::table::{TableArchitecture, TableNet};
use super::super::{ArchitectureConfig, GenreNet, Network};
use crate::bundle::{
    DescriptorInput, Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, TableBundle,
    TableHeader, WeightStorage,
};
use crate::descriptors::DescriptorWindowing;
use crate::FeatureConfig;

const LABELS: usize = 6;

fn header(arch: ArchitectureConfig, storage: WeightStorage) -> SpectrogramHeader {
    let arch_keeps_top = matches!(arch, ArchitectureConfig::Musicnn { msd_tags: true, .. });
    let feature_config = FeatureConfig::musicnn();
    let n_mels = feature_config.n_mels;
    SpectrogramHeader {
        labels: (0..LABELS).map(|i| format!("genre {i}")).collect(),
        feature_config,
        normalisation: Normalisation { mean: vec![0.0; n_mels], std: vec![1.0; n_mels] },
        architecture: arch,
        weight_storage: storage,
        weight_levels: Default::default(),
        provenance: Provenance::default(),
        calibration: None,
        music_detector: None,
        tags: if arch_keeps_top {
            MSD_TAG_NAMES.iter().map(|t| t.to_string()).collect()
        } else {
            Vec::new()
        },
    }
}

/// Every batch norm of `net` randomised, and the head's biases too (fresh ones are zero).
fn randomise(net: &mut MusicnnTransfer, device: &Device) {
    randomise_backbone(&mut net.backbone, device);
    if let Some(bn) = net.backbone.penultimate_bn.take() {
        net.backbone.penultimate_bn = Some(randomised(bn, 90, device));
    }
    for (i, block) in net.head.hidden.iter_mut().enumerate() {
        block.norm = randomised(block.norm.clone(), 100 + 4 * i as u64, device);
    }
    let n = net.head.out.bias.as_ref().map_or(0, |b| b.dims()[0]);
    let bias = Tensor::from_data(TensorData::new(uniform(n, 7, -0.5, 0.5), [n]), device);
    net.head.out.bias = Some(Param::from_tensor(bias));
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().unwrap()
}

/// Fails unless `got` equals `want` within 1e-4 of the largest magnitude of `want`.
fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * scale, "{what}[{i}]: {g} against Burn's {w}");
    }
}

#[test]
fn every_output_equals_the_burn_network_loaded_from_the_same_bundle() {
    let device = Device::flex();
    let cases = [
        (MusicnnEmbedding::Pools, vec![], true, WeightStorage::F32),
        (MusicnnEmbedding::Pools, vec![16], false, WeightStorage::Int8),
        (MusicnnEmbedding::Penultimate, vec![8, 5], true, WeightStorage::F16),
        (MusicnnEmbedding::Tags, vec![], false, WeightStorage::Int6),
    ];
    for (embedding, hidden, msd_tags, storage) in cases {
        let what = format!("{embedding:?}, hidden {hidden:?}, tags {msd_tags}, {storage}");
        let arch = ArchitectureConfig::Musicnn { embedding, hidden, dropout: 0.5, msd_tags };
        let header = header(arch.clone(), storage);
        let mut net = GenreNet::new(&arch, 96, 187, LABELS, &device).unwrap();
        let Network::Musicnn(transfer) = &mut net.network else { unreachable!() };
        randomise(transfer, &device);
        let bytes = SpectrogramBundle::to_bytes(&header, &net).unwrap();

        let (_, burn) = SpectrogramBundle::from_bytes(&bytes, &device).unwrap();
        let (_, plain) = SpectrogramBundle::plain_from_bytes(&bytes).unwrap().expect(&what);
        let frames = 40;
        let input = uniform(2 * 96 * frames, 5, -1.0, 3.0);
        let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [2, 1, 96, frames]), &device);
        let (logits, outputs) = burn.forward_all(x.clone());
        let outputs = outputs.unwrap();
        let got = plain.forward_all(&input, 96, frames);
        assert_close(&got.logits, &values(logits), &format!("{what}: logits"));
        assert_close(&got.pools, &values(outputs.pools), &format!("{what}: pools"));
        assert_eq!(got.penultimate.is_some(), outputs.penultimate.is_some(), "{what}");
        if let (Some(g), Some(w)) = (&got.penultimate, outputs.penultimate) {
            assert_close(g, &values(w), &format!("{what}: penultimate"));
        }
        if let (Some(g), Some(w)) = (&got.tag_logits, outputs.tag_logits) {
            assert_close(g, &values(w), &format!("{what}: tag logits"));
        }
        let embedding = burn.backbone_embedding(x).unwrap();
        assert_close(
            &plain.backbone_embedding(&input, 96, frames),
            &values(embedding),
            &format!("{what}: backbone embedding"),
        );
    }
}

#[test]
fn other_architectures_are_left_to_burn() {
    let arch = ArchitectureConfig::Cnn { filters: vec![4], dense: vec![8], dropout: 0.5 };
    let mut header = header(arch.clone(), WeightStorage::F32);
    header.feature_config = FeatureConfig::gtzan_default();
    let n_mels = header.feature_config.n_mels;
    header.normalisation = Normalisation { mean: vec![0.0; n_mels], std: vec![1.0; n_mels] };
    let net =
        GenreNet::new(&arch, header.n_mels(), header.n_frames(), LABELS, &Device::flex()).unwrap();
    let bytes = SpectrogramBundle::to_bytes(&header, &net).unwrap();
    assert!(SpectrogramBundle::plain_from_bytes(&bytes).unwrap().is_none());
}

#[test]
fn a_bundle_whose_weights_do_not_fit_is_refused_by_name() {
    let device = Device::flex();
    let arch = ArchitectureConfig::Musicnn {
        embedding: MusicnnEmbedding::Pools,
        hidden: vec![],
        dropout: 0.5,
        msd_tags: false,
    };
    let net = GenreNet::new(&arch, 96, 187, LABELS, &device).unwrap();
    let bytes = SpectrogramBundle::to_bytes(&header(arch, WeightStorage::F32), &net).unwrap();
    // The same weights under a header that asks for the backbone's top: its layers are missing.
    let with_top = ArchitectureConfig::Musicnn {
        embedding: MusicnnEmbedding::Pools,
        hidden: vec![],
        dropout: 0.5,
        msd_tags: true,
    };
    let mut forged = header(with_top, WeightStorage::F32);
    forged.provenance = Provenance::default();
    let sections = crate::bundle::format::read(&bytes).unwrap();
    let forged =
        crate::bundle::format::write(&forged.to_json().unwrap(), sections.weights).unwrap();
    let burn = SpectrogramBundle::from_bytes(&forged, &device).err().map(|e| e.to_string());
    let plain = SpectrogramBundle::plain_from_bytes(&forged).err().map(|e| e.to_string());
    assert!(plain.as_deref().is_some_and(|e| e.contains("penultimate")), "{plain:?}");
    assert_eq!(plain, burn);
}

/// A table header reading the first `n_inputs` descriptor columns.
fn table_header(arch: TableArchitecture, n_inputs: usize, storage: WeightStorage) -> TableHeader {
    TableHeader {
        labels: (0..LABELS).map(|i| format!("genre {i}")).collect(),
        descriptors: DescriptorInput {
            sample_rate: 22050,
            windowing: DescriptorWindowing { window_seconds: 30.0, hop_seconds: 15.0 },
            max_windows: None,
            min_seconds: 10.0,
            mean: vec![0.0; n_inputs],
            std: vec![1.0; n_inputs],
            columns: crate::descriptors::column_names().into_iter().take(n_inputs).collect(),
        },
        architecture: arch,
        weight_storage: storage,
        provenance: Provenance::default(),
        calibration: None,
    }
}

#[test]
fn table_networks_equal_burn_loaded_from_the_same_bundle() {
    let device = Device::flex();
    let cases = [
        (TableArchitecture::mlp_default(), 57, WeightStorage::F32),
        (TableArchitecture::Mlp { hidden: vec![], dropout: 0.0 }, 9, WeightStorage::Int8),
        (TableArchitecture::cnn1d_default(), 57, WeightStorage::F32),
        (
            TableArchitecture::Cnn1d { filters: [3, 5], kernel: 4, dense: 7, dropout: 0.0 },
            10,
            WeightStorage::Int8,
        ),
    ];
    for (arch, n_inputs, storage) in cases {
        let what = format!("{arch:?} on {n_inputs} inputs, {storage}");
        let header = table_header(arch.clone(), n_inputs, storage);
        let mut net = TableNet::new(&arch, n_inputs, LABELS, &device).unwrap();
        if let TableNet::Mlp(mlp) = &mut net {
            for (i, block) in mlp.hidden.iter_mut().enumerate() {
                block.norm = randomised(block.norm.clone(), 200 + 4 * i as u64, &device);
            }
        }
        let bytes = TableBundle::to_bytes(&header, &net).unwrap();
        let (_, burn) = TableBundle::from_bytes(&bytes, &device).unwrap();
        let (_, plain) = TableBundle::plain_from_bytes(&bytes).unwrap();
        let rows = uniform(3 * n_inputs, n_inputs as u64, -2.0, 2.0);
        let x = Tensor::<2>::from_data(TensorData::new(rows.clone(), [3, n_inputs]), &device);
        assert_close(&plain.forward(&rows, n_inputs), &values(burn.forward(x)), &what);
    }
}
