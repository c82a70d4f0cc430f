//! `trainer train`: train a model on a labelled folder, write the bundle and its report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use burn::tensor::Device;
use clap::ValueEnum;
use genrescope::audio::DecodeLimits;
use genrescope::bundle::{Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage};
use genrescope::classify::{max_abs_diff, SpectrogramModel};
use genrescope::feature_config::Windowing;
use genrescope::mel::MelExtractor;
use genrescope::model::musicnn::MusicnnEmbedding;
use genrescope::model::ArchitectureConfig;
use genrescope::FeatureConfig;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::backend::Backend;
use crate::augment::AugmentConfig;
use crate::cache::{default_dir, FeatureCache};
use crate::calibrate;
use crate::cv;
pub(crate) use crate::cv::median_epoch;
use crate::dataset::{track_key, Dataset, Track};
use crate::metrics::{summarize, CvSummary, Evaluation};
use crate::provenance::command_line;
use crate::report::{pooled_evaluation, print_cv, print_summary, write_report_calibrated};
use crate::split::{stratified_split, Split};
use crate::train::fit::{evaluate_set, fit, window_set, FitOutcome, Tracks};
use crate::train::fold_store::{run_key, FoldStore};
use crate::train::transfer::{
    backbone_from_bytes, read_backbone, FineTuneSettings, FrozenBackbone,
};
use crate::train::windows::predict;
use crate::train::{ScheduleConfig, TrainSettings};

/// The network to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    /// 3 conv blocks (32-64-128), dense 256-128 (the reference CNN).
    Cnn,
    /// 5 conv blocks (32-64-128-256-512), dense 256-128.
    Cnn5,
    /// Conv front end and a bidirectional GRU of 128 units.
    Crnn,
    /// Transfer learning: the pretrained MusiCNN backbone (Million Song Dataset), frozen,
    /// with a genre head trained on its embeddings (see --embedding, --head-hidden).
    Musicnn,
}

impl Arch {
    /// The architecture configuration of this choice.
    pub fn config(self) -> ArchitectureConfig {
        match self {
            Arch::Cnn => ArchitectureConfig::cnn_default(),
            Arch::Cnn5 => ArchitectureConfig::cnn_5_block(),
            Arch::Crnn => ArchitectureConfig::crnn_default(),
            Arch::Musicnn => ArchitectureConfig::musicnn_default(),
        }
    }

    /// The front end this architecture is trained on.
    pub fn feature_config(self) -> FeatureConfig {
        match self {
            Arch::Musicnn => FeatureConfig::musicnn(),
            _ => FeatureConfig::gtzan_default(),
        }
    }
}

/// The pretrained MusiCNN backbone shipped in the repository.
pub fn default_backbone() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../web/models/backbones/musicnn-msd/backbone.safetensors")
}

/// The backbone output a transfer head reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbeddingChoice {
    /// MusiCNN's 200-unit penultimate layer.
    Penultimate,
    /// MusiCNN's pooled front- and mid-end features (1506 values).
    Pools,
    /// MusiCNN's 50 Million Song Dataset tag probabilities.
    Tags,
}

impl From<EmbeddingChoice> for MusicnnEmbedding {
    fn from(choice: EmbeddingChoice) -> Self {
        match choice {
            EmbeddingChoice::Penultimate => MusicnnEmbedding::Penultimate,
            EmbeddingChoice::Pools => MusicnnEmbedding::Pools,
            EmbeddingChoice::Tags => MusicnnEmbedding::Tags,
        }
    }
}

/// Everything one training run needs, from whichever `trainer train` sub-command (their
/// options, documented for users, are in `train_options`); options that do not apply to the
/// sub-command hold their defaults.
#[derive(Debug, Clone)]
pub struct TrainArgs {
    /// The labelled audio folder (audio and transfer models).
    pub data: Option<PathBuf>,
    /// The descriptor table (table models).
    pub table: Option<PathBuf>,
    /// The table model's network.
    pub table_arch: TableArch,
    /// Table models: drop descriptors this correlated with an earlier kept one.
    pub max_correlation: f64,
    /// Table models: networks averaged per fold.
    pub ensemble: u16,
    /// Table models: leave out the rows of this folder's files.
    pub exclude_data: Option<PathBuf>,
    /// Table models: and of files numbered up to this far from them.
    pub exclude_neighbours: usize,
    /// Table models: descriptor windows per track in the bundle.
    pub max_windows: Option<u32>,
    /// Table models: shortest input the bundle's model is used on, in seconds.
    pub min_seconds: f64,
    /// Output folder for the bundle and the report.
    pub out: PathBuf,
    /// The spectrogram network.
    pub arch: Arch,
    /// Transfer models: the backbone output the head reads.
    pub embedding: EmbeddingChoice,
    /// Hidden layers of the transfer head or of the table MLP (empty: the default).
    pub head_hidden: Vec<usize>,
    /// Dropout in the transfer head or the table MLP.
    pub head_dropout: f64,
    /// Transfer models: patches per track at inference.
    pub max_patches: Option<usize>,
    /// Transfer models: keep the backbone's tag layer (MSD tags in every result).
    pub msd_tags: bool,
    /// Transfer models: the pretrained backbone (default: the shipped one).
    pub backbone: Option<PathBuf>,
    /// Transfer models: fine-tuning epochs of the backbone's top.
    pub fine_tune: Option<usize>,
    /// Transfer models: the fine-tuning learning rate.
    pub fine_tune_lr: f64,
    /// Most epochs per fit.
    pub epochs: usize,
    /// Windows (or rows) per optimiser step.
    pub batch: usize,
    /// Adam's starting learning rate.
    pub lr: f64,
    /// L2 weight decay.
    pub weight_decay: Option<f32>,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Epochs without validation improvement before halving the learning rate.
    pub plateau_patience: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Cross-validation folds.
    pub folds: Option<usize>,
    /// Only cross-validate.
    pub cv_only: bool,
    /// Only these folds (1-based).
    pub only_folds: Vec<usize>,
    /// Train the bundle's network on every track, for the median of the folds' best epochs.
    pub no_holdout: bool,
    /// The accuracy the calibration's `uncertain` threshold aims at.
    pub target_accuracy: f64,
    /// No training augmentation.
    pub no_augment: bool,
    /// At most this many tracks per label.
    pub limit_per_label: Option<usize>,
    /// Compute device.
    pub backend: Backend,
    /// How the bundle stores the weight matrices.
    pub weights: WeightStorage,
    /// Feature cache folder.
    pub cache: Option<PathBuf>,
    /// Decode every file again.
    pub no_cache: bool,
}

/// A labelled collection decoded to PCM, with the files that failed.
pub(crate) struct LoadedData {
    /// Label names, in index order.
    pub labels: Vec<String>,
    /// The tracks that decoded.
    pub tracks: Vec<Track>,
    /// Mono PCM of each track, at the front end's rate.
    pub pcm: Vec<Vec<f32>>,
    /// Why each failed file failed.
    pub failed: Vec<String>,
}

impl LoadedData {
    /// The label index of every track.
    pub(crate) fn track_labels(&self) -> Vec<usize> {
        self.tracks.iter().map(|t| t.label).collect()
    }

    /// Track `t`'s name as reports keep it: `<label>/<file name>`.
    pub(crate) fn track_name(&self, t: usize) -> String {
        track_key(&self.labels[self.tracks[t].label], &self.tracks[t].path)
    }
}

/// The network of a descriptor-table model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableArch {
    /// Dense blocks of 256 and 128 units.
    Mlp,
    /// The third study's 1-D CNN over the descriptor vector.
    Cnn1d,
}

/// Runs `trainer train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if let Some(table) = &args.table {
        return super::train_table::run(&args, table);
    }
    let data_dir = args.data.clone().context("a labelled audio folder (--data DIR) is required")?;
    calibrate::check_target(args.target_accuracy)?;
    if args.no_holdout && (args.folds.is_none() || args.cv_only) {
        bail!(
            "--no-holdout trains the bundle on every track and needs --folds K (without --cv-only)"
        );
    }
    if args.no_holdout && args.fine_tune.is_some() {
        // The folds' best epochs then count both stages: no one epoch count to train for.
        bail!(
            "--no-holdout does not combine with --fine-tune yet: train the head alone, or keep \
             the hold-out split"
        );
    }
    if args.fine_tune == Some(0) {
        bail!("--fine-tune needs at least 1 epoch");
    }
    if !(args.fine_tune_lr > 0.0 && args.fine_tune_lr.is_finite()) {
        bail!("--fine-tune-lr must be a positive number, got {}", args.fine_tune_lr);
    }
    let mut cfg = args.arch.feature_config();
    if let (Some(n), Windowing::SpectrogramPatches { max_patches, .. }) =
        (args.max_patches, &mut cfg.windowing)
    {
        *max_patches = Some(n);
    }
    cfg.validate().map_err(anyhow::Error::msg)?;
    let (device, backend_name) = args.backend.device()?;
    let data = load(&data_dir, args.limit_per_label, args.cache.as_deref(), args.no_cache, &cfg)?;
    let track_labels = data.track_labels();
    let architecture = match args.arch {
        Arch::Musicnn => ArchitectureConfig::Musicnn {
            embedding: args.embedding.into(),
            hidden: args.head_hidden.clone(),
            dropout: args.head_dropout,
            msd_tags: args.msd_tags,
        },
        other => other.config(),
    };
    let (frozen, backbone_hash) = match &architecture {
        ArchitectureConfig::Musicnn { embedding, .. } => {
            let path = args.backbone.clone().unwrap_or_else(default_backbone);
            let bytes = read_backbone(&path)?;
            let hash = blake3::hash(&bytes).to_hex().to_string();
            let backbone = backbone_from_bytes(bytes, &path, &device)?;
            let frozen = FrozenBackbone::embed_all(
                backbone,
                *embedding,
                &cfg,
                &data.pcm,
                args.fine_tune.is_some(),
                &device,
            )?;
            (Some(frozen), Some(hash))
        }
        _ => (None, None),
    };
    let settings = TrainSettings {
        architecture,
        epochs: args.epochs,
        batch_size: args.batch,
        weight_decay: args.weight_decay,
        schedule: ScheduleConfig {
            learning_rate: args.lr,
            plateau_patience: args.plateau_patience,
            early_stop_patience: args.patience,
            ..ScheduleConfig::default()
        },
        // The transfer head trains on embeddings of the plain audio: no augmentation to record.
        augment: if args.no_augment || args.arch == Arch::Musicnn {
            AugmentConfig::none()
        } else {
            AugmentConfig::default()
        },
        seed: args.seed,
        backbone: backbone_hash,
        fine_tune: args
            .fine_tune
            .map(|epochs| FineTuneSettings { epochs, learning_rate: args.fine_tune_lr }),
    };
    let tracks = Tracks { pcm: &data.pcm, labels: &track_labels, frozen: frozen.as_ref() };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let command = command_line();

    if !args.only_folds.is_empty() {
        let k = args.folds.context("--only-folds needs --folds K")?;
        if let Some(bad) = args.only_folds.iter().find(|&&i| i == 0 || i > k) {
            bail!("--only-folds: fold {bad} does not exist; folds are numbered 1 to {k}");
        }
        let stored = CrossValidation::new(&cfg, &data, &tracks, &settings, &device, k, &args.out)
            .run_only(&args.only_folds)?;
        eprintln!("{stored} of {k} folds are stored in {}; run the command without --only-folds for the report once all are", args.out.join("cv-folds").display());
        return Ok(exit_code(&data));
    }
    let cv = match args.folds {
        Some(k) => Some(
            CrossValidation::new(&cfg, &data, &tracks, &settings, &device, k, &args.out).run()?,
        ),
        None => None,
    };
    let calibration = cv
        .as_ref()
        .and_then(|(cv, _)| calibrate::fit(&calibrate::out_of_fold(cv), args.target_accuracy));
    if let Some(c) = &calibration {
        println!("{}", c.summary());
    }
    if args.cv_only {
        let (cv, _) = cv.context("--cv-only needs --folds K")?;
        let meta = run_meta(&args, &data, &settings, &backend_name, &command, None);
        let files = write_report_calibrated(
            &args.out,
            "cv-report",
            "Cross-validation",
            &pooled_evaluation(&cv),
            None,
            Some(&cv),
            calibration.as_ref(),
            &meta,
        )?;
        print_cv(&cv);
        eprintln!(
            "wrote {}",
            files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return Ok(exit_code(&data));
    }

    let bundled = match &cv {
        Some((cv, best_epochs)) if args.no_holdout => {
            fit_all(&cfg, &data, &tracks, &settings, &device, cv, best_epochs)?
        }
        _ => fit_holdout(&cfg, &data, &tracks, &settings, &device, args.seed)?,
    };
    let cv = cv.map(|(cv, _)| cv);
    let outcome = &bundled.outcome;
    if let Some(test) = &bundled.test {
        println!("{}", print_summary(test));
    }
    if let Some(cv) = &cv {
        print_cv(cv);
    }

    let metrics = json!({
        "test": bundled.test.as_ref().map(headline),
        "validation": outcome.validation.as_ref().map(headline),
        "cross_validation": cv.as_ref().map(|c| json!({
            "folds": c.folds.len(),
            "track_accuracy": c.track_accuracy, "window_accuracy": c.window_accuracy, "macro_f1": c.macro_f1,
        })),
        "calibration": calibration.as_ref().map(calibrate::CalibrationReport::metrics),
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.history.len(),
        "training_seconds": outcome.seconds,
    });
    let evaluation = match (&cv, &bundled.test) {
        (Some(cv), _) => crate::provenance::cross_validated(cv, false),
        (None, Some(test)) => crate::provenance::headline(None, test),
        (None, None) => bail!("a bundle trained without a test set needs --folds K"),
    };
    let header = SpectrogramHeader {
        labels: data.labels.clone(),
        feature_config: cfg.clone(),
        normalisation: outcome.normalisation.clone(),
        architecture: settings.architecture.clone(),
        weight_storage: args.weights,
        weight_levels: Default::default(),
        provenance: Provenance {
            data: describe_data(&data_dir, &data),
            split: bundled.split.clone(),
            seed: args.seed,
            command: command.clone(),
            metrics,
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            dataset: Some(crate::provenance::dataset(&data_dir, data.tracks.len())),
            evaluation: Some(evaluation),
        },
        calibration: calibration.as_ref().map(|c| c.calibration),
        music_detector: None,
        tags: settings.architecture.tag_names(),
    };
    let bytes = SpectrogramBundle::to_bytes(&header, &outcome.model)?;
    let bundle_path = args.out.join("model.gscope");
    std::fs::write(&bundle_path, &bytes)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    check_bundle(&bytes, &device, &tracks, bundled.check_track, outcome, &cfg, args.weights)?;

    let mut meta = run_meta(
        &args,
        &data,
        &settings,
        &backend_name,
        &command,
        Some((&bundled.split, outcome.best_epoch, outcome.seconds)),
    );
    meta["calibration"] = json!(header.calibration);
    let (title, evaluation) = match (&bundled.test, &cv) {
        (Some(test), _) => ("Hold-out test set", test.clone()),
        (None, Some(cv)) => {
            ("Cross-validation (the bundle is trained on every track)", pooled_evaluation(cv))
        }
        (None, None) => unreachable!("checked above"),
    };
    let files = write_report_calibrated(
        &args.out,
        "report",
        title,
        &evaluation,
        Some(&outcome.history),
        cv.as_ref(),
        calibration.as_ref(),
        &meta,
    )?;
    eprintln!("wrote {} ({} bytes)", bundle_path.display(), bytes.len());
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(exit_code(&data))
}

/// The bundle's network and how it was trained: on a hold-out split (with its test
/// evaluation) or on every track.
struct Bundled {
    outcome: FitOutcome,
    /// The test tracks' evaluation (hold-out only).
    test: Option<Evaluation>,
    /// How the tracks were used, for the provenance's `split`.
    split: String,
    /// A track to check the written bundle on.
    check_track: Option<usize>,
}

/// Trains on 80 % of the tracks, early-stopped on 10 %, and evaluates on the last 10 %.
fn fit_holdout(
    cfg: &FeatureConfig,
    data: &LoadedData,
    tracks: &Tracks,
    settings: &TrainSettings,
    device: &Device,
    seed: u64,
) -> anyhow::Result<Bundled> {
    let split = stratified_split(tracks.labels, (0.8, 0.1, 0.1), seed)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "split by track: {} train, {} validation, {} test",
        split.train.len(),
        split.val.len(),
        split.test.len()
    );
    let outcome =
        fit(cfg, &data.labels, tracks, &split.train, &split.val, settings, device, "hold-out")?;
    let extractor = MelExtractor::new(cfg).map_err(anyhow::Error::msg)?;
    let test_set = window_set(cfg, &extractor, tracks, &split.test, &outcome.normalisation);
    let test = evaluate_set(&outcome.model, &test_set, &data.labels, device)?;
    Ok(Bundled {
        outcome,
        test: Some(test),
        split: describe_split(&split, seed),
        check_track: split.test.first().copied(),
    })
}

/// Trains on every track for the median of the cross-validation folds' best epochs (see
/// [`no_holdout_rule`]).
fn fit_all(
    cfg: &FeatureConfig,
    data: &LoadedData,
    tracks: &Tracks,
    settings: &TrainSettings,
    device: &Device,
    cv: &CvSummary,
    best_epochs: &[usize],
) -> anyhow::Result<Bundled> {
    let epochs = median_epoch(best_epochs).context("no fold reported a best epoch")?;
    let all: Vec<usize> = (0..tracks.labels.len()).collect();
    let mut fixed = settings.clone();
    fixed.epochs = epochs;
    // No validation set: nothing to stop early on.
    fixed.schedule.early_stop_patience = epochs + 1;
    let split = no_holdout_rule(all.len(), cv.folds.len(), epochs, best_epochs, settings.seed);
    eprintln!("{split}");
    let outcome = fit(cfg, &data.labels, tracks, &all, &[], &fixed, device, "all tracks")?;
    Ok(Bundled { outcome, test: None, split, check_track: all.first().copied() })
}

/// The provenance's `split` of a network trained on every track.
pub(crate) fn no_holdout_rule(
    tracks: usize,
    folds: usize,
    epochs: usize,
    best_epochs: &[usize],
    seed: u64,
) -> String {
    let list: Vec<String> = best_epochs.iter().map(usize::to_string).collect();
    format!(
        "no hold-out: trained on all {tracks} tracks for {epochs} epochs, the median of the best \
         epochs of the {folds} cross-validation folds ({}); without a validation set the \
         learning-rate plateaus follow the training loss and the weights of the epoch with the \
         lowest training loss are kept; the accuracy is the {folds}-fold cross-validation's \
         (stratified by label, by track, seed {seed}) and the calibration is fitted on its \
         out-of-fold predictions",
        list.join(", ")
    )
}

/// Discovers the folder `dir` and decodes every track (at most `limit` per label) through the
/// feature cache (`cache`, else the default folder; a throw-away one with `no_cache`),
/// reporting failures.
pub(crate) fn load(
    dir: &Path,
    limit: Option<usize>,
    cache: Option<&Path>,
    no_cache: bool,
    cfg: &FeatureConfig,
) -> anyhow::Result<LoadedData> {
    let dataset = limit_per_label(super::discover_labelled(dir)?, limit);
    let cache_dir = cache.map_or_else(default_dir, Path::to_path_buf);
    let cache = FeatureCache::new(if no_cache {
        std::env::temp_dir().join(format!("genrescope-nocache-{}", std::process::id()))
    } else {
        cache_dir
    });
    let bar = ProgressBar::new(dataset.tracks.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("decoding [{bar:30}] {pos}/{len} (ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let results = cache
        .load_all(&dataset.tracks, cfg, &DecodeLimits::default(), |n| bar.set_position(n as u64));
    bar.finish_and_clear();
    let (mut tracks, mut pcm, mut failed, mut hits) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for (track, result) in dataset.tracks.into_iter().zip(results) {
        match result {
            Ok(p) => {
                hits += p.hit as usize;
                for w in p.warnings.messages() {
                    eprintln!("warning: {}: {w}", track.path.display());
                }
                tracks.push(track);
                pcm.push(p.samples);
            }
            Err(e) => {
                eprintln!("skipping {e}");
                failed.push(e.to_string());
            }
        }
    }
    eprintln!("{} tracks decoded ({} from the cache), {} failed", tracks.len(), hits, failed.len());
    if tracks.is_empty() {
        bail!("no track could be decoded");
    }
    Ok(LoadedData { labels: dataset.labels, tracks, pcm, failed })
}

/// Keeps the first `limit` tracks (by path) of every label.
fn limit_per_label(mut dataset: Dataset, limit: Option<usize>) -> Dataset {
    if let Some(limit) = limit {
        let mut seen = vec![0usize; dataset.labels.len()];
        dataset.tracks.retain(|t| {
            seen[t.label] += 1;
            seen[t.label] <= limit
        });
    }
    dataset
}

/// One K-fold cross-validation (by track): its inputs, and the store of its finished folds.
/// Each fold trains a fresh model and is evaluated on its test part; a fold stored by an
/// earlier run with the same settings and data is reused (see [`FoldStore`]), so an
/// interrupted run resumes and folds can run in separate processes.
struct CrossValidation<'a> {
    cfg: &'a FeatureConfig,
    data: &'a LoadedData,
    labels: &'a [String],
    tracks: &'a Tracks<'a>,
    settings: &'a TrainSettings,
    device: &'a Device,
    k: usize,
    store: FoldStore,
}

impl<'a> CrossValidation<'a> {
    /// A K-fold run over `tracks` whose folds are stored under `out`.
    fn new(
        cfg: &'a FeatureConfig,
        data: &'a LoadedData,
        tracks: &'a Tracks<'a>,
        settings: &'a TrainSettings,
        device: &'a Device,
        k: usize,
        out: &Path,
    ) -> Self {
        let store = FoldStore::new(out, run_key(settings, cfg, k, tracks.labels, tracks.pcm));
        CrossValidation { cfg, data, labels: &data.labels, tracks, settings, device, k, store }
    }

    /// Every fold, summarised, with each fold's best epoch.
    fn run(&self) -> anyhow::Result<(CvSummary, Vec<usize>)> {
        let all: Vec<usize> = (1..=self.k).collect();
        let (mut evaluations, mut best_epochs) = (Vec::new(), Vec::new());
        self.each_fold(&all, |e, best| {
            evaluations.push(e);
            best_epochs.push(best);
        })?;
        Ok((summarize(evaluations), best_epochs))
    }

    /// Only the folds `only` (1-based); returns how many of the K folds are now stored.
    fn run_only(&self, only: &[usize]) -> anyhow::Result<usize> {
        self.each_fold(only, |_, _| ())?;
        Ok((0..self.k).filter(|&i| self.store.load(i, self.k).is_some()).count())
    }

    /// Evaluates each fold in `folds` (1-based), training it unless it is stored, and hands
    /// the evaluations and best epochs to `sink` in fold order.
    fn each_fold(
        &self,
        folds: &[usize],
        mut sink: impl FnMut(Evaluation, usize),
    ) -> anyhow::Result<()> {
        let (cfg, k) = (self.cfg, self.k);
        let splits = cv::folds(self.tracks.labels, k, self.settings.seed)?;
        let extractor = MelExtractor::new(cfg).map_err(anyhow::Error::msg)?;
        for (i, fold) in splits.iter().enumerate().filter(|(i, _)| folds.contains(&(i + 1))) {
            let name = format!("fold {}/{k}", i + 1);
            let (evaluation, best_epoch, source) = match self.store.load(i, k) {
                Some(stored) => {
                    (stored.evaluation, stored.best_epoch, " (stored by an earlier run)")
                }
                None => {
                    let outcome = fit(
                        cfg,
                        self.labels,
                        self.tracks,
                        &fold.train,
                        &fold.val,
                        self.settings,
                        self.device,
                        &name,
                    )?;
                    let test_set = window_set(
                        cfg,
                        &extractor,
                        self.tracks,
                        &fold.test,
                        &outcome.normalisation,
                    );
                    let mut evaluation =
                        evaluate_set(&outcome.model, &test_set, self.labels, self.device)?;
                    evaluation.name_tracks(|t| self.data.track_name(t));
                    self.store.save(i, k, outcome.best_epoch, &evaluation)?;
                    (evaluation, outcome.best_epoch, "")
                }
            };
            eprintln!(
                "{name}: test track accuracy {:.1}% window accuracy {:.1}% (best epoch {best_epoch}){source}",
                100.0 * evaluation.track_accuracy,
                100.0 * evaluation.window_accuracy,
            );
            sink(evaluation, best_epoch);
        }
        Ok(())
    }
}

/// Loads the written bundle back through the product's own [`SpectrogramModel`] and checks that it
/// reproduces the trained model's window probabilities on `track` (this covers
/// the weights, the normalisation and the front end stored in the header).
///
/// With f16 or int8 storage the reference is the trained model with its weights rounded the
/// same way in memory ([`bundle::rounded`](genrescope::bundle::rounded)), so the 1e-5 bound still checks the encoding; how
/// far the rounding itself moves the probabilities is reported.
fn check_bundle(
    bytes: &[u8],
    device: &Device,
    tracks: &Tracks,
    track: Option<usize>,
    outcome: &FitOutcome,
    cfg: &FeatureConfig,
    storage: WeightStorage,
) -> anyhow::Result<()> {
    let classifier =
        SpectrogramModel::from_bundle(bytes, device).context("the written bundle does not load")?;
    let Some(track) = track else { return Ok(()) };
    let got = classifier.infer(&classifier.features(&tracks.pcm[track]))?;
    let extractor = MelExtractor::new(cfg).map_err(anyhow::Error::msg)?;
    let set = window_set(cfg, &extractor, tracks, &[track], &outcome.normalisation);
    let rounded = genrescope::bundle::rounded(&outcome.model, storage)?;
    let expected = predict(&rounded, &set, device, 32)?;
    let diff = max_diff(&expected, &got.windows);
    if expected.len() != got.windows.len() || diff > 1e-5 {
        bail!("the reloaded bundle disagrees with the trained model (max probability difference {diff})");
    }
    if storage == WeightStorage::F32 {
        eprintln!("bundle check: reloaded model matches the trained one (max probability difference {diff:.1e})");
    } else {
        let moved = max_diff(&predict(&outcome.model, &set, device, 32)?, &got.windows);
        eprintln!(
            "bundle check: reloaded model matches the trained one with {storage} weights (max probability \
             difference {diff:.1e}); {storage} storage moves the window probabilities by up to {moved:.1e}"
        );
    }
    Ok(())
}

/// Largest absolute difference between expected window probabilities and a classification's.
fn max_diff(expected: &[Vec<f32>], got: &[genrescope::classify::WindowResult]) -> f32 {
    expected.iter().zip(got).map(|(e, w)| max_abs_diff(e, &w.probabilities)).fold(0.0, f32::max)
}

fn headline(e: &Evaluation) -> serde_json::Value {
    json!({
        "tracks": e.n_tracks, "windows": e.n_windows,
        "track_accuracy": e.track_accuracy, "window_accuracy": e.window_accuracy,
        "macro_f1": e.macro_f1, "mean_loss": e.mean_loss,
    })
}

fn describe_data(dir: &Path, data: &LoadedData) -> String {
    format!(
        "{}: {} tracks, {} labels ({}){}",
        dir.display(),
        data.tracks.len(),
        data.labels.len(),
        data.labels.join(", "),
        if data.failed.is_empty() {
            String::new()
        } else {
            format!("; {} files failed to decode and were left out", data.failed.len())
        }
    )
}

fn describe_split(split: &Split, seed: u64) -> String {
    format!(
        "stratified by label, by track (no track in two parts): {} train / {} validation / {} test, seed {seed}",
        split.train.len(),
        split.val.len(),
        split.test.len()
    )
}

fn run_meta(
    args: &TrainArgs,
    data: &LoadedData,
    settings: &TrainSettings,
    backend: &str,
    command: &str,
    holdout: Option<(&str, usize, f64)>,
) -> serde_json::Value {
    json!({
        "data": args.data.as_deref().map(|dir| describe_data(dir, data)),
        "split": holdout.map(|(s, _, _)| s),
        "seed": args.seed,
        "command": command,
        "backend": backend,
        "architecture": settings.architecture,
        "settings": settings,
        "best_epoch": holdout.map(|(_, e, _)| e),
        "training_seconds": holdout.map(|(_, _, s)| s),
        "failed_files": data.failed,
    })
}

fn exit_code(data: &LoadedData) -> ExitCode {
    if data.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_trains_for_the_median_best_epoch_of_the_folds() {
        assert_eq!(median_epoch(&[7, 3, 12]), Some(7));
        assert_eq!(median_epoch(&[9, 4, 6, 20]), Some(6));
        assert_eq!(median_epoch(&[5]), Some(5));
        assert_eq!(median_epoch(&[]), None);
        let rule = no_holdout_rule(80, 5, 6, &[4, 6, 9, 6, 3], 42);
        assert!(rule.contains("all 80 tracks for 6 epochs"), "{rule}");
        assert!(rule.contains("(4, 6, 9, 6, 3)"), "{rule}");
    }
}
