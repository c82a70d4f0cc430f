//! On-disk cache of decoded, resampled mono PCM, so a second run skips decoding.
//!
//! Layout: `<dir>/pcm/<hh>/<key>.pcm`, where `key` is the hex blake3 of
//! (a domain tag, [`CACHE_FORMAT_VERSION`], blake3 of the file's bytes, blake3 of the
//! `serde_json` of the [`FeatureConfig`]) and `hh` its first two hex digits. A changed file,
//! a different front end or a new cache format therefore never reuses an old entry. Entries
//! are never modified, only replaced; stale ones are simply never read again (delete the
//! folder to reclaim space).
//!
//! Entry format (little endian): magic `GSPCM\r\n\x1a` (8 bytes), format version (u32),
//! sample rate (u32), sample count (u64), flags (u32, bit 0 = source truncated),
//! skipped packets (u32), blake3 of the payload (32 bytes), then the samples as f32.
//! An entry whose magic, version, rate, length or checksum does not match is deleted and
//! recomputed, never trusted. Writes go to a temporary file in the same folder that is
//! then renamed over the entry, so a crash never leaves a half-written entry under its key.
//!
//! Bump [`CACHE_FORMAT_VERSION`] whenever decoding or resampling changes its output.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use genrescope::audio::{to_target_rate, AudioError, AudioFile, DecodeLimits, DecodeWarnings};
use genrescope::FeatureConfig;
use rayon::prelude::*;

use crate::dataset::Track;

/// Version of the entry format and of the PCM it holds; part of every key.
pub const CACHE_FORMAT_VERSION: u32 = 1;

const MAGIC: &[u8; 8] = b"GSPCM\r\n\x1a";
const HEADER_LEN: usize = 8 + 4 + 4 + 8 + 4 + 4 + 32;
const FLAG_TRUNCATED: u32 = 1;

/// The cache folder to use when none is given: `$GENRESCOPE_CACHE`, else
/// `$XDG_CACHE_HOME/genrescope`, else `$HOME/.cache/genrescope`, else
/// `<temp dir>/genrescope-cache`. Empty variables count as unset.
pub fn default_dir() -> PathBuf {
    default_dir_from(|name| std::env::var_os(name))
}

/// [`default_dir`] with the environment supplied by `var` (testable without touching it).
pub fn default_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let get = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = get("GENRESCOPE_CACHE") {
        dir
    } else if let Some(xdg) = get("XDG_CACHE_HOME") {
        xdg.join("genrescope")
    } else if let Some(home) = get("HOME") {
        home.join(".cache").join("genrescope")
    } else {
        std::env::temp_dir().join("genrescope-cache")
    }
}

/// The cache key of a file's bytes under a front end (hex blake3, 64 characters).
pub fn cache_key(file_bytes: &[u8], cfg: &FeatureConfig) -> String {
    let cfg_json = serde_json::to_vec(cfg).expect("a FeatureConfig always serialises");
    let mut h = blake3::Hasher::new();
    h.update(b"genrescope pcm cache\0");
    h.update(&CACHE_FORMAT_VERSION.to_le_bytes());
    h.update(blake3::hash(file_bytes).as_bytes());
    h.update(blake3::hash(&cfg_json).as_bytes());
    h.finalize().to_hex().to_string()
}

/// Mono PCM of one track at the front end's sample rate, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPcm {
    /// Mono samples at `sample_rate`.
    pub samples: Vec<f32>,
    /// `cfg.sample_rate`, in Hz.
    pub sample_rate: u32,
    /// True when the samples were read from the cache rather than decoded.
    pub hit: bool,
    /// True when a damaged cache entry was found, deleted and recomputed.
    pub discarded_corrupt_entry: bool,
    /// What was wrong with the source file, which still decoded (truncation, skipped packets).
    pub warnings: DecodeWarnings,
    /// Why the decoded PCM could not be stored (the samples are still valid); worth a warning.
    pub store_error: Option<String>,
}

/// Why one track could not be loaded, naming its file; the other tracks are unaffected.
#[derive(Debug)]
pub struct TrackError {
    /// The audio file.
    pub path: PathBuf,
    /// What went wrong: the file could not be read ([`AudioError::Read`]), decoded or
    /// resampled.
    pub error: AudioError,
}

impl fmt::Display for TrackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for TrackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A PCM cache rooted at a folder (created on first write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureCache {
    dir: PathBuf,
}

/// A successfully parsed entry.
struct Entry {
    samples: Vec<f32>,
    truncated: bool,
    skipped_packets: u32,
}

impl FeatureCache {
    /// A cache in `dir` (see [`default_dir`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FeatureCache { dir: dir.into() }
    }

    /// The cache's root folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` lives: `<dir>/pcm/<key[..2]>/<key>.pcm`.
    pub fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join("pcm").join(&key[..2]).join(format!("{key}.pcm"))
    }

    /// The mono PCM of the audio file at `path`, at `cfg.sample_rate`: from the cache when a
    /// valid entry exists, else decoded (within `limits`), resampled and stored.
    /// A failure to store is reported in [`CachedPcm::store_error`], not as an error.
    pub fn load_pcm(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        limits: &DecodeLimits,
    ) -> Result<CachedPcm, TrackError> {
        let fail = |error| TrackError { path: path.to_path_buf(), error };
        let file = AudioFile::read(path, limits).map_err(fail)?;
        let key = cache_key(&file.bytes, cfg);
        let entry_path = self.entry_path(&key);

        let mut discarded = false;
        if let Ok(data) = fs::read(&entry_path) {
            if let Some(e) = parse_entry(&data, cfg.sample_rate) {
                return Ok(CachedPcm {
                    samples: e.samples,
                    sample_rate: cfg.sample_rate,
                    hit: true,
                    discarded_corrupt_entry: false,
                    warnings: DecodeWarnings {
                        truncated: e.truncated,
                        skipped_packets: e.skipped_packets as usize,
                    },
                    store_error: None,
                });
            }
            discarded = true;
            let _ = fs::remove_file(&entry_path);
        }

        let loaded = file
            .decode(limits)
            .and_then(|decoded| to_target_rate(decoded, cfg.sample_rate))
            .map_err(fail)?;
        let warnings = loaded.warnings;
        let skipped_packets = u32::try_from(warnings.skipped_packets).unwrap_or(u32::MAX);
        let encoded =
            encode_entry(&loaded.samples, cfg.sample_rate, warnings.truncated, skipped_packets);
        let store_error = write_atomically(&entry_path, &encoded)
            .err()
            .map(|e| format!("cannot store {} in the cache: {e}", entry_path.display()));
        Ok(CachedPcm {
            samples: loaded.samples,
            sample_rate: cfg.sample_rate,
            hit: false,
            discarded_corrupt_entry: discarded,
            warnings,
            store_error,
        })
    }

    /// [`FeatureCache::load_pcm`] for every track, in parallel on all cores (rayon's global
    /// pool). Results are in track order. `progress` is called once per finished track with
    /// the number of tracks finished so far (1..=tracks.len()), from worker threads.
    pub fn load_all(
        &self,
        tracks: &[Track],
        cfg: &FeatureConfig,
        limits: &DecodeLimits,
        progress: impl Fn(usize) + Sync,
    ) -> Vec<Result<CachedPcm, TrackError>> {
        let done = AtomicUsize::new(0);
        tracks
            .par_iter()
            .map(|t| {
                let r = self.load_pcm(&t.path, cfg, limits);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                r
            })
            .collect()
    }
}

fn encode_entry(
    samples: &[f32],
    sample_rate: u32,
    truncated: bool,
    skipped_packets: u32,
) -> Vec<u8> {
    let mut payload = Vec::with_capacity(samples.len() * 4);
    for s in samples {
        payload.extend_from_slice(&s.to_le_bytes());
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(samples.len() as u64).to_le_bytes());
    out.extend_from_slice(&(if truncated { FLAG_TRUNCATED } else { 0 }).to_le_bytes());
    out.extend_from_slice(&skipped_packets.to_le_bytes());
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN);
    out.extend_from_slice(&payload);
    out
}

/// Parses an entry; `None` for anything that does not check out.
fn parse_entry(data: &[u8], expected_rate: u32) -> Option<Entry> {
    if data.len() < HEADER_LEN || &data[..8] != MAGIC {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap());
    let version = u32_at(8);
    let rate = u32_at(12);
    let count = u64::from_le_bytes(data[16..24].try_into().unwrap());
    let flags = u32_at(24);
    let skipped_packets = u32_at(28);
    let checksum = &data[32..64];
    let payload = &data[HEADER_LEN..];
    if version != CACHE_FORMAT_VERSION
        || rate != expected_rate
        || count.checked_mul(4) != Some(payload.len() as u64)
    {
        return None;
    }
    if blake3::hash(payload).as_bytes() != checksum {
        return None;
    }
    let samples =
        payload.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    Some(Entry { samples, truncated: flags & FLAG_TRUNCATED != 0, skipped_packets })
}

/// Writes `data` to a unique temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let parent = path.parent().expect("entry paths have a parent");
    fs::create_dir_all(parent)?;
    let name = path.file_name().expect("entry paths have a name").to_string_lossy();
    let tmp = parent.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit mono PCM WAV file.
    fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
        let data_len = (samples.len() * 2) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data_len).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes()); // PCM
        v.extend_from_slice(&1u16.to_le_bytes()); // mono
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * 2).to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            v.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
        }
        v
    }

    fn tone(n: usize, freq: f32, rate: u32) -> Vec<f32> {
        (0..n)
            .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn setup() -> (tempfile::TempDir, FeatureCache, PathBuf, FeatureConfig) {
        let tmp = tempfile::tempdir().unwrap();
        let cache = FeatureCache::new(tmp.path().join("cache"));
        let wav = tmp.path().join("a.wav");
        fs::write(&wav, wav_bytes(&tone(16_000, 440.0, 16_000), 16_000)).unwrap();
        (tmp, cache, wav, FeatureConfig::gtzan_default())
    }

    #[test]
    fn miss_then_hit_gives_the_same_samples() {
        let (_tmp, cache, wav, cfg) = setup();
        let limits = DecodeLimits::default();
        let first = cache.load_pcm(&wav, &cfg, &limits).unwrap();
        assert!(!first.hit);
        assert_eq!(first.store_error, None);
        assert_eq!(first.sample_rate, 22_050);
        assert!((first.samples.len() as i64 - 22_050).abs() < 64, "{}", first.samples.len());
        let key = cache_key(&fs::read(&wav).unwrap(), &cfg);
        let entry = cache.entry_path(&key);
        assert!(entry.starts_with(cache.dir().join("pcm").join(&key[..2])));
        assert!(entry.is_file());
        let second = cache.load_pcm(&wav, &cfg, &limits).unwrap();
        assert!(second.hit);
        assert_eq!(second.samples, first.samples);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(entry.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_changed_config_or_file_misses() {
        let (_tmp, cache, wav, cfg) = setup();
        let limits = DecodeLimits::default();
        cache.load_pcm(&wav, &cfg, &limits).unwrap();
        let mut other = cfg.clone();
        other.n_mels = 64;
        assert!(!cache.load_pcm(&wav, &other, &limits).unwrap().hit);
        let musicnn = cache.load_pcm(&wav, &FeatureConfig::musicnn(), &limits).unwrap();
        assert!(!musicnn.hit);
        assert_eq!(musicnn.sample_rate, 16_000);
        assert_eq!(musicnn.samples.len(), 16_000);
        fs::write(&wav, wav_bytes(&tone(16_000, 880.0, 16_000), 16_000)).unwrap();
        assert!(!cache.load_pcm(&wav, &cfg, &limits).unwrap().hit);
        assert!(cache.load_pcm(&wav, &cfg, &limits).unwrap().hit);
    }

    #[test]
    fn corrupt_entries_are_discarded_and_recomputed() {
        let (_tmp, cache, wav, cfg) = setup();
        let limits = DecodeLimits::default();
        let good = cache.load_pcm(&wav, &cfg, &limits).unwrap();
        let entry = cache.entry_path(&cache_key(&fs::read(&wav).unwrap(), &cfg));
        let original = fs::read(&entry).unwrap();

        let mut flipped = original.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40; // payload bit flip: caught by the checksum
        let truncated = original[..original.len() - 4].to_vec(); // length mismatch
        let mut bad_magic = original.clone();
        bad_magic[0] = b'X';
        for damaged in [flipped, truncated, bad_magic, Vec::new()] {
            fs::write(&entry, &damaged).unwrap();
            let again = cache.load_pcm(&wav, &cfg, &limits).unwrap();
            assert!(!again.hit);
            assert!(again.discarded_corrupt_entry);
            assert_eq!(again.samples, good.samples);
            assert_eq!(fs::read(&entry).unwrap(), original, "the entry is rewritten");
        }
        assert!(cache.load_pcm(&wav, &cfg, &limits).unwrap().hit);
    }

    #[test]
    fn a_corrupt_audio_file_names_the_file() {
        let (tmp, cache, wav, cfg) = setup();
        let bad = tmp.path().join("jazz.00054.wav");
        fs::write(&bad, b"this is not audio at all").unwrap();
        let missing = tmp.path().join("gone.wav");
        let tracks = [
            Track { path: wav.clone(), label: 0 },
            Track { path: bad.clone(), label: 1 },
            Track { path: missing.clone(), label: 1 },
        ];
        let calls = AtomicUsize::new(0);
        let max_seen = AtomicUsize::new(0);
        let results = cache.load_all(&tracks, &cfg, &DecodeLimits::default(), |n| {
            calls.fetch_add(1, Ordering::Relaxed);
            max_seen.fetch_max(n, Ordering::Relaxed);
        });
        assert_eq!(calls.into_inner(), 3);
        assert_eq!(max_seen.into_inner(), 3);
        assert!(results[0].is_ok());
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(err.path, bad);
        assert!(matches!(err.error, AudioError::UnrecognisedFormat { .. }));
        assert!(err.to_string().contains("jazz.00054.wav"), "{err}");
        let err = results[2].as_ref().unwrap_err();
        assert!(matches!(err.error, AudioError::Read { .. }));
        assert!(err.to_string().contains("gone.wav"), "{err}");
    }

    #[test]
    fn oversized_files_fail_before_reading() {
        let (_tmp, cache, wav, cfg) = setup();
        let limits = DecodeLimits { max_input_bytes: 100, ..DecodeLimits::default() };
        let err = cache.load_pcm(&wav, &cfg, &limits).unwrap_err();
        assert!(matches!(err.error, AudioError::TooLarge { limit: 100, .. }));
    }

    #[test]
    fn an_unwritable_cache_still_returns_samples() {
        let (tmp, _cache, wav, cfg) = setup();
        let blocker = tmp.path().join("blocker");
        fs::write(&blocker, b"a file where the cache folder should be").unwrap();
        let cache = FeatureCache::new(&blocker);
        let pcm = cache.load_pcm(&wav, &cfg, &DecodeLimits::default()).unwrap();
        assert!(!pcm.hit);
        assert!(!pcm.samples.is_empty());
        assert!(pcm.store_error.is_some());
    }

    #[test]
    fn default_dir_precedence() {
        use std::ffi::OsString;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(
            default_dir_from(env(&[
                ("GENRESCOPE_CACHE", "/c"),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ])),
            PathBuf::from("/c")
        );
        assert_eq!(
            default_dir_from(env(&[
                ("GENRESCOPE_CACHE", ""),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ])),
            PathBuf::from("/x/genrescope")
        );
        assert_eq!(default_dir_from(env(&[("HOME", "/h")])), PathBuf::from("/h/.cache/genrescope"));
        assert_eq!(default_dir_from(env(&[])), std::env::temp_dir().join("genrescope-cache"));
    }
}
