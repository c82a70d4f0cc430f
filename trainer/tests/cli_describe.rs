//! End-to-end test of `trainer describe`: a labelled folder in, the descriptor table out,
//! with the library's own values, one row per window, and a bad file named and skipped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use genrescope::audio::{decode, DecodeLimits};
use genrescope::descriptors::{column_names, describe};

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/audio")).join(name)
}

#[test]
fn a_labelled_folder_becomes_a_descriptor_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for label in ["jazz", "rock"] {
        fs::create_dir_all(data.join(label)).unwrap();
    }
    fs::copy(fixture("gtzan_jazz_6s.wav"), data.join("jazz/a.wav")).unwrap();
    fs::copy(fixture("gtzan_jazz_6s_48000.wav"), data.join("jazz/b.wav")).unwrap();
    fs::copy(fixture("gtzan_jazz_6s.flac"), data.join("rock/c.flac")).unwrap();
    fs::write(data.join("rock/bad.wav"), b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
    let out = dir.path().join("table.csv");

    let run = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["describe", "--window-seconds", "4", "--hop-seconds", "2", "--jobs", "2", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "one file is bad: {stderr}");
    assert!(stderr.contains("bad.wav"), "the bad file is named: {stderr}");

    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let mut expected = vec!["filename".to_string(), "start".into(), "length".into()];
    expected.extend(column_names());
    expected.push("label".into());
    assert_eq!(header, expected);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // 6 s clips with 4 s windows every 2 s: windows at 0 and 2 s, for each of the 3 good files.
    let names: Vec<(&str, &str, &str)> = rows.iter().map(|r| (&r[0], &r[1], &r[60])).collect();
    assert_eq!(
        names,
        vec![
            ("jazz/a.wav", "0", "jazz"),
            ("jazz/a.wav", "2", "jazz"),
            ("jazz/b.wav", "0", "jazz"),
            ("jazz/b.wav", "2", "jazz"),
            ("rock/c.flac", "0", "rock"),
            ("rock/c.flac", "2", "rock")
        ]
    );

    // The second window of a.wav holds exactly the library's values for samples [2 s, 6 s).
    let samples = decode(
        fs::read(fixture("gtzan_jazz_6s.wav")).unwrap(),
        Some("wav"),
        &DecodeLimits::default(),
    )
    .unwrap()
    .samples;
    let library = describe(&samples[44_100..132_300], 22050).unwrap();
    let written: Vec<f64> = (3..60).map(|c| rows[1][c].parse().unwrap()).collect();
    assert_eq!(written, library);
    assert_eq!(&rows[1][2], "88200");
    // FLAC is lossless: the same samples, the same row.
    assert_eq!(
        rows[1].iter().skip(1).take(59).collect::<Vec<_>>(),
        rows[5].iter().skip(1).take(59).collect::<Vec<_>>()
    );
    // The 48 kHz copy is resampled first; its tempo agrees and its loudness is close.
    let column = |r: usize, name: &str| -> f64 {
        rows[r][header.iter().position(|h| h == name).unwrap()].parse().unwrap()
    };
    assert_eq!(column(0, "tempo"), column(2, "tempo"));
    assert!((column(0, "rms_mean") / column(2, "rms_mean") - 1.0).abs() < 0.02);
}
