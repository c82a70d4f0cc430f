//! The table descriptors (`genrescope::descriptors`) against librosa and against the real
//! feature table.
//!
//! * Synthetic and short real fixtures (`tests/fixtures/make_descriptor_fixtures.py`, the
//!   recipe of `tests/fixtures/descriptors/RECIPE.md`): every frame-level output and the 57
//!   summary values.
//! * Every shared GTZAN clip against its row of `gtzan-features-30s.csv` (the values were
//!   copied into `descriptors/gtzan_mini_80.json` by the same script): relative error
//!   <= 1 % per column, absolute <= 1e-4 for the means of the HPSS signals (near zero), and
//!   the tempo equal on >= 90 % of clips. The per-column worst case is printed.

mod common;

use common::{fixture_bytes, fixture_f32, shared_clip};
use genrescope::audio::{decode, DecodeLimits};
use genrescope::descriptors::{
    column_names, frame_descriptors, mean_tempogram, tempogram_window, FrameDescriptors, N_COLUMNS,
};
use serde_json::Value;

fn json(rel: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn floats(v: &Value) -> Vec<f64> {
    v["data"]
        .as_array()
        .unwrap_or_else(|| v.as_array().expect("array"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Largest absolute difference, after checking the lengths agree.
fn max_abs(ours: impl IntoIterator<Item = f64>, reference: &[f64], what: &str) -> f64 {
    let ours: Vec<f64> = ours.into_iter().collect();
    assert_eq!(ours.len(), reference.len(), "{what}: lengths differ");
    ours.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

/// Largest difference relative to `max(|reference|, floor)`.
fn max_rel(ours: impl IntoIterator<Item = f64>, reference: &[f64], floor: f64, what: &str) -> f64 {
    let ours: Vec<f64> = ours.into_iter().collect();
    assert_eq!(ours.len(), reference.len(), "{what}: lengths differ");
    ours.iter().zip(reference).map(|(a, b)| (a - b).abs() / b.abs().max(floor)).fold(0.0, f64::max)
}

fn wide(v: &[f32]) -> impl Iterator<Item = f64> + '_ {
    v.iter().map(|&x| x as f64)
}

fn fixture_signal(fx: &Value) -> Vec<f32> {
    let source = &fx["source"];
    match source["kind"].as_str().unwrap() {
        "signal" => fixture_f32(source["signal"].as_str().unwrap()),
        "audio" => {
            let path = source["audio"].as_str().unwrap();
            decode(fixture_bytes(path), Some("wav"), &DecodeLimits::default()).unwrap().samples
        }
        other => panic!("unknown fixture source {other}"),
    }
}

/// Compares one fixture's frame-level outputs; panics naming the first that is off.
fn check_fixture(name: &str) {
    let fx = json(&format!("descriptors/{name}.json"));
    let signal = fixture_signal(&fx);
    assert_eq!(signal.len() as u64, fx["n_samples"].as_u64().unwrap(), "{name}: sample count");
    let ours = frame_descriptors(&signal, 22050).unwrap();
    assert_eq!(ours.n_frames as u64, fx["n_frames"].as_u64().unwrap(), "{name}: frames");
    assert_eq!(ours.tuning, fx["tuning"].as_f64().unwrap(), "{name}: tuning");

    let checks: [(&str, f64, f64); 9] = [
        ("chroma_stft", max_abs(wide(&ours.chroma), &floats(&fx["chroma_stft"]), name), 1e-5),
        ("rms", max_rel(wide(&ours.rms), &floats(&fx["rms"]), 1e-6, name), 1e-5),
        (
            "spectral_centroid",
            max_rel(ours.shape.centroid.clone(), &floats(&fx["spectral_centroid"]), 1.0, name),
            1e-5,
        ),
        (
            "spectral_bandwidth",
            max_rel(ours.shape.bandwidth.clone(), &floats(&fx["spectral_bandwidth"]), 1.0, name),
            1e-5,
        ),
        ("rolloff", max_abs(ours.shape.rolloff.clone(), &floats(&fx["rolloff"]), name), 0.0),
        (
            "zero_crossing_rate",
            max_abs(ours.zero_crossing_rate.clone(), &floats(&fx["zero_crossing_rate"]), name),
            0.0,
        ),
        ("mfcc", max_abs(wide(&ours.mfcc), &floats(&fx["mfcc"]), name), 2e-3),
        (
            "onset_strength",
            max_abs(wide(&ours.onset_envelope), &floats(&fx["onset_strength"]), name),
            1e-3,
        ),
        (
            "tempogram_mean",
            max_abs(
                mean_tempogram(&ours.onset_envelope, tempogram_window(22050.0)),
                &floats(&fx["tempogram_mean"]),
                name,
            ),
            1e-5,
        ),
    ];
    for (what, error, tolerance) in checks {
        println!("{name:>18} {what:<20} max error {error:.3e} (tolerance {tolerance:.0e})");
        assert!(error <= tolerance, "{name}: {what} off by {error:e} (tolerance {tolerance:e})");
    }
    let tempo = &fx["tempo"];
    assert_eq!(ours.tempo.bpm, tempo["legacy"].as_f64().unwrap(), "{name}: tempo");
    if ours.tempo.lag > 0 {
        assert_eq!(
            ours.tempo.lag as u64,
            tempo["lag_legacy"].as_u64().unwrap(),
            "{name}: tempo lag"
        );
    }
    check_hpss_signal(name, "harmonic", &ours.harmonic, &fx["harmonic"]);
    check_hpss_signal(name, "percussive", &ours.percussive, &fx["percussive"]);
    let summary_error = max_rel(ours.summary(), &floats(&fx["summary"]), 1e-3, name);
    println!(
        "{name:>18} {:<20} max error {summary_error:.3e} (relative, floor 1e-3)",
        "57 summary values"
    );
    assert!(summary_error <= 1e-4, "{name}: summary off by {summary_error:e}");
}

fn check_hpss_signal(name: &str, which: &str, ours: &[f32], reference: &Value) {
    let n_reconstructed = reference["n_reconstructed"].as_u64().unwrap() as usize;
    assert!(
        ours[n_reconstructed..].iter().all(|&v| v == 0.0),
        "{name}: {which} tail must stay zero"
    );
    let mid = reference["mid_start"].as_u64().unwrap() as usize;
    for (part, start) in [("head", 0), ("mid", mid), ("tail", ours.len() - 256)] {
        let error = max_abs(wide(&ours[start..start + 256]), &floats(&reference[part]), name);
        assert!(error <= 1e-5, "{name}: {which} {part} off by {error:e}");
    }
    let values: Vec<f64> = wide(ours).collect();
    let (mean, var) = genrescope::descriptors::mean_and_variance(&values);
    let reference_var = reference["var"].as_f64().unwrap();
    // A click train has no harmonic part: its variance is 0 on both sides.
    let (mean_error, var_error) = (
        (mean - reference["mean"].as_f64().unwrap()).abs(),
        (var - reference_var).abs() / reference_var.max(1e-12),
    );
    println!("{name:>18} {which:<20} mean abs error {mean_error:.3e}, variance rel error {var_error:.3e}");
    assert!(
        mean_error <= 1e-7 && var_error <= 1e-4,
        "{name}: {which} mean off by {mean_error:e}, variance by {var_error:e}"
    );
}

#[test]
fn tones_match_librosa() {
    check_fixture("harmonic_a440");
    check_fixture("harmonic_detuned");
}

#[test]
fn chirp_and_noise_match_librosa() {
    check_fixture("chirp");
    check_fixture("noise");
}

#[test]
fn clicks_and_real_music_match_librosa() {
    check_fixture("clicks_123bpm");
    check_fixture("gtzan_jazz_6s");
}

/// What one shared clip gives against its CSV row.
struct ClipResult {
    file: String,
    ours: Vec<f64>,
    csv: Vec<f64>,
}

fn describe_clip(entry: &Value) -> ClipResult {
    let file = entry["file"].as_str().unwrap().to_string();
    let (genre, rest) = file.split_once('/').unwrap();
    let index: u32 = rest.trim_end_matches(".wav").rsplit('.').next().unwrap().parse().unwrap();
    let path = shared_clip(genre, index);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (../shared must be beside the checkout)", path.display())
    });
    let audio = decode(bytes, Some("wav"), &DecodeLimits::default()).unwrap();
    assert_eq!(audio.sample_rate, 22050, "{file}");
    assert_eq!(
        audio.samples.len() as u64,
        entry["length"].as_u64().unwrap(),
        "{file}: length column"
    );
    let frames: FrameDescriptors = frame_descriptors(&audio.samples, audio.sample_rate).unwrap();
    ClipResult { file, ours: frames.summary(), csv: floats(&entry["csv"]) }
}

#[test]
fn every_shared_clip_matches_its_row_of_the_feature_table() {
    let table = json("descriptors/gtzan_mini_80.json");
    let clips = table["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 80);
    let names = column_names();
    let header: Vec<&str> =
        table["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(header, names, "column order");

    // Two workers: the machine (and CI) has two cores.
    let results: Vec<ClipResult> = std::thread::scope(|scope| {
        let workers: Vec<_> = clips
            .chunks(clips.len().div_ceil(2))
            .map(|chunk| scope.spawn(move || chunk.iter().map(describe_clip).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });

    let absolute = ["harmony_mean", "perceptr_mean"];
    let mut failures = Vec::new();
    println!("{:<26} {:>12} {:<18}", "column", "worst", "clip");
    for (c, name) in names.iter().enumerate().take(N_COLUMNS) {
        if name == "tempo" {
            continue;
        }
        let by_absolute = absolute.contains(&name.as_str());
        let error = |r: &ClipResult| {
            let d = (r.ours[c] - r.csv[c]).abs();
            if by_absolute {
                d
            } else {
                d / r.csv[c].abs()
            }
        };
        let worst = results.iter().max_by(|a, b| error(a).total_cmp(&error(b))).unwrap();
        let kind = if by_absolute { "abs" } else { "rel" };
        println!("{name:<26} {:>8.2e} {kind} {}", error(worst), worst.file);
        let limit = if by_absolute { 1e-4 } else { 0.01 };
        if error(worst) > limit {
            failures.push(format!("{name}: {kind} error {:.3e} on {}", error(worst), worst.file));
        }
    }
    let tempo = names.iter().position(|n| n == "tempo").unwrap();
    let equal = results.iter().filter(|r| r.ours[tempo] == r.csv[tempo]).count();
    println!("{:<26} {equal}/{} clips equal", "tempo", results.len());
    for r in results.iter().filter(|r| r.ours[tempo] != r.csv[tempo]) {
        println!("    {}: ours {} BPM, table {} BPM", r.file, r.ours[tempo], r.csv[tempo]);
    }
    if (equal as f64) < 0.9 * results.len() as f64 {
        failures.push(format!("tempo equal on only {equal} of {} clips", results.len()));
    }
    assert!(failures.is_empty(), "descriptors off the table:\n{}", failures.join("\n"));
}
