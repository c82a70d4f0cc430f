//! Synthesised signals that are not music, for the music / not-music detector's negative
//! examples: noise (white, pink, brown) at several levels, steady tones and chords (sine,
//! square), sweeps, click trains, mains hum and speech babble. Deterministic for a seed.

use std::f64::consts::TAU;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// The rate every signal is made at (MusiCNN's).
pub const SAMPLE_RATE: u32 = 16_000;

/// Shortest and longest signal by default, in seconds.
pub const SECONDS: (f64, f64) = (10.0, 30.0);

/// One synthesised signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Synth {
    /// Its family (`noise`, `tone`, `sweep`, `clicks`, `hum`, `babble`).
    pub family: &'static str,
    /// A name that says what it is (e.g. `pink-noise--25dB`).
    pub name: String,
    /// Mono samples at [`SAMPLE_RATE`].
    pub samples: Vec<f32>,
}

/// Every family's signals for `seed`, each between `seconds.0` and `seconds.1` long (see
/// [`SECONDS`]); `speech` (mono at [`SAMPLE_RATE`], at least 3 clips) is mixed into babble,
/// which is left out with fewer clips. Fails, naming it, on a length range that is not
/// positive and ordered.
pub fn signals(seed: u64, speech: &[Vec<f32>], seconds: (f64, f64)) -> anyhow::Result<Vec<Synth>> {
    check_seconds(seconds)?;
    let (lo, hi) = seconds;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut length = move |rng: &mut ChaCha8Rng| {
        let s = if lo == hi { lo } else { rng.random_range(lo..hi) };
        (s * SAMPLE_RATE as f64) as usize
    };
    let mut out = Vec::new();
    out.extend(noises(&mut rng, &mut length));
    out.extend(tones(&mut rng, &mut length));
    out.extend(sweeps(&mut rng, &mut length));
    out.extend(clicks(&mut rng, &mut length));
    out.extend(hums(&mut rng, &mut length));
    if speech.len() >= 3 {
        out.extend(babble(&mut rng, &mut length, speech));
    }
    Ok(out)
}

/// Checks a length range: `0 < MIN <= MAX` seconds.
pub fn check_seconds((lo, hi): (f64, f64)) -> anyhow::Result<()> {
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
        anyhow::bail!("synthesised signal lengths must be 0 < MIN <= MAX seconds, got {lo}..{hi}");
    }
    Ok(())
}

/// Draws a signal's length in samples.
type Length<'a> = &'a mut dyn FnMut(&mut ChaCha8Rng) -> usize;

/// `samples` scaled to an RMS of `db` dBFS (left silent when silent).
fn at_level(mut samples: Vec<f64>, db: f64) -> Vec<f32> {
    let rms = (samples.iter().map(|x| x * x).sum::<f64>() / samples.len().max(1) as f64).sqrt();
    if rms > 0.0 {
        let gain = 10f64.powf(db / 20.0) / rms;
        samples.iter_mut().for_each(|x| *x *= gain);
    }
    samples.into_iter().map(|x| x.clamp(-1.0, 1.0) as f32).collect()
}

/// A uniform value in [-1, 1).
fn white(rng: &mut ChaCha8Rng) -> f64 {
    rng.random_range(-1.0..1.0)
}

/// White, pink (Paul Kellet's filter) and brown (leaky integral) noise at four levels.
fn noises(rng: &mut ChaCha8Rng, length: Length) -> Vec<Synth> {
    let mut out = Vec::new();
    for colour in ["white", "pink", "brown"] {
        for db in [-45.0, -30.0, -20.0, -10.0] {
            let n = length(rng);
            let mut b = [0.0f64; 7];
            let mut brown = 0.0f64;
            let samples: Vec<f64> = (0..n)
                .map(|_| {
                    let w = white(rng);
                    match colour {
                        "white" => w,
                        "pink" => {
                            b[0] = 0.99886 * b[0] + w * 0.0555179;
                            b[1] = 0.99332 * b[1] + w * 0.0750759;
                            b[2] = 0.96900 * b[2] + w * 0.1538520;
                            b[3] = 0.86650 * b[3] + w * 0.3104856;
                            b[4] = 0.55000 * b[4] + w * 0.5329522;
                            b[5] = -0.7616 * b[5] - w * 0.0168980;
                            let p = b.iter().sum::<f64>() + w * 0.5362;
                            b[6] = w * 0.115926;
                            p
                        }
                        _ => {
                            brown = 0.998 * brown + 0.05 * w;
                            brown
                        }
                    }
                })
                .collect();
            out.push(Synth {
                family: "noise",
                name: format!("{colour}-noise-{db}dB"),
                samples: at_level(samples, db),
            });
        }
    }
    out
}

/// One period of a sine (`square`: its sign) at phase `phase` (radians).
fn wave(phase: f64, square: bool) -> f64 {
    let s = phase.sin();
    if square {
        s.signum()
    } else {
        s
    }
}

/// Steady sine and square tones and three-note chords (major or minor), four of each.
fn tones(rng: &mut ChaCha8Rng, length: Length) -> Vec<Synth> {
    let mut out = Vec::new();
    for square in [false, true] {
        let shape = if square { "square" } else { "sine" };
        for chord in [false, true] {
            for _ in 0..4 {
                let n = length(rng);
                let root = 110.0 * 2f64.powf(rng.random_range(0.0..4.0));
                let third = if rng.random_bool(0.5) { 4.0 } else { 3.0 };
                let notes: Vec<f64> = if chord {
                    [0.0, third, 7.0].iter().map(|s| root * 2f64.powf(s / 12.0)).collect()
                } else {
                    vec![root]
                };
                let samples = (0..n)
                    .map(|i| {
                        let t = i as f64 / SAMPLE_RATE as f64;
                        notes.iter().map(|f| wave(TAU * f * t, square)).sum::<f64>()
                    })
                    .collect();
                let db = rng.random_range(-30.0..-10.0);
                let what = if chord { "chord" } else { "tone" };
                out.push(Synth {
                    family: "tone",
                    name: format!("{shape}-{what}-{root:.0}Hz"),
                    samples: at_level(samples, db),
                });
            }
        }
    }
    out
}

/// Sine sweeps between 50 Hz and 7 kHz, linear or exponential, up or down.
fn sweeps(rng: &mut ChaCha8Rng, length: Length) -> Vec<Synth> {
    let mut out = Vec::new();
    for exponential in [false, true] {
        for up in [true, false] {
            for _ in 0..3 {
                let n = length(rng);
                let lo: f64 = rng.random_range(50.0..300.0);
                let hi: f64 = rng.random_range(2000.0..7000.0);
                let (f0, f1) = if up { (lo, hi) } else { (hi, lo) };
                let duration = n as f64 / SAMPLE_RATE as f64;
                let mut phase = 0.0;
                let samples = (0..n)
                    .map(|i| {
                        let x = i as f64 / n as f64;
                        let f =
                            if exponential { f0 * (f1 / f0).powf(x) } else { f0 + (f1 - f0) * x };
                        phase += TAU * f / SAMPLE_RATE as f64;
                        phase.sin()
                    })
                    .collect();
                let kind = if exponential { "exp" } else { "linear" };
                out.push(Synth {
                    family: "sweep",
                    name: format!("{kind}-sweep-{f0:.0}-{f1:.0}Hz-{duration:.0}s"),
                    samples: at_level(samples, rng.random_range(-30.0..-10.0)),
                });
            }
        }
    }
    out
}

/// Click trains: regular ones at rates from 1 to 20 per second, and irregular ones.
fn clicks(rng: &mut ChaCha8Rng, length: Length) -> Vec<Synth> {
    let mut out = Vec::new();
    for (k, rate) in [1.0, 2.0, 4.0, 8.0, 20.0, 3.0, 6.0, 12.0].into_iter().enumerate() {
        let regular = k < 5;
        let n = length(rng);
        let mut samples = vec![0.0f64; n];
        let mut at = 0.0f64;
        while (at as usize) < n {
            let start = at as usize;
            for (j, s) in samples.iter_mut().skip(start).take(32).enumerate() {
                *s += (-(j as f64) / 6.0).exp() * if j % 2 == 0 { 1.0 } else { -1.0 };
            }
            let gap = SAMPLE_RATE as f64 / rate;
            at += if regular { gap } else { gap * rng.random_range(0.2..1.8) };
        }
        let kind = if regular { "regular" } else { "irregular" };
        out.push(Synth {
            family: "clicks",
            name: format!("{kind}-clicks-{rate}per-s"),
            samples: at_level(samples, rng.random_range(-35.0..-15.0)),
        });
    }
    out
}

/// Mains hum (50 or 60 Hz with decaying odd and even harmonics), some with a little noise.
fn hums(rng: &mut ChaCha8Rng, length: Length) -> Vec<Synth> {
    let mut out = Vec::new();
    for mains in [50.0, 60.0] {
        for k in 0..4 {
            let n = length(rng);
            let harmonics: Vec<f64> =
                (1..=8).map(|h| rng.random_range(0.1..1.0) / h as f64).collect();
            let noisy = k % 2 == 1;
            let samples = (0..n)
                .map(|i| {
                    let t = i as f64 / SAMPLE_RATE as f64;
                    let hum: f64 = harmonics
                        .iter()
                        .enumerate()
                        .map(|(h, a)| a * (TAU * mains * (h + 1) as f64 * t).sin())
                        .sum();
                    hum + if noisy { 0.05 * white(rng) } else { 0.0 }
                })
                .collect();
            out.push(Synth {
                family: "hum",
                name: format!("hum-{mains}Hz{}", if noisy { "-noisy" } else { "" }),
                samples: at_level(samples, rng.random_range(-40.0..-15.0)),
            });
        }
    }
    out
}

/// Ten mixes of 3 to 6 speech clips, each starting at a random offset (looped to fill).
fn babble(rng: &mut ChaCha8Rng, length: Length, speech: &[Vec<f32>]) -> Vec<Synth> {
    let mut out = Vec::new();
    for k in 0..10 {
        let n = length(rng);
        let voices = rng.random_range(3..=6usize.min(speech.len()).max(3));
        let mut samples = vec![0.0f64; n];
        for _ in 0..voices {
            let clip = &speech[rng.random_range(0..speech.len())];
            if clip.is_empty() {
                continue;
            }
            let offset = rng.random_range(0..clip.len());
            let gain = rng.random_range(0.5..1.0);
            for (i, s) in samples.iter_mut().enumerate() {
                *s += gain * clip[(offset + i) % clip.len()] as f64;
            }
        }
        out.push(Synth {
            family: "babble",
            name: format!("babble-{k}-{voices}-voices"),
            samples: at_level(samples, rng.random_range(-30.0..-15.0)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms_db(x: &[f32]) -> f64 {
        let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64;
        10.0 * ms.log10()
    }

    #[test]
    fn every_family_is_made_at_its_level_and_length_deterministically() {
        let speech: Vec<Vec<f32>> = (0..3)
            .map(|k| (0..16_000).map(|i| ((i * (k + 3)) as f32 * 0.01).sin() * 0.3).collect())
            .collect();
        let all = signals(5, &speech, SECONDS).unwrap();
        assert!((60..=100).contains(&all.len()), "{} signals", all.len());
        for family in ["noise", "tone", "sweep", "clicks", "hum", "babble"] {
            assert!(all.iter().filter(|s| s.family == family).count() >= 5, "{family}");
        }
        for s in &all {
            let seconds = s.samples.len() as f64 / SAMPLE_RATE as f64;
            assert!((SECONDS.0..=SECONDS.1).contains(&seconds), "{}: {seconds} s", s.name);
            assert!(s.samples.iter().all(|x| x.is_finite() && x.abs() <= 1.0), "{}", s.name);
            assert!(rms_db(&s.samples) > -60.0, "{} is silent", s.name);
        }
        let quiet = all.iter().find(|s| s.name == "white-noise--45dB").unwrap();
        assert!((rms_db(&quiet.samples) + 45.0).abs() < 0.1, "{}", rms_db(&quiet.samples));
        assert_eq!(
            signals(5, &speech, SECONDS).unwrap(),
            all,
            "the same seed gives the same signals"
        );
        let short = signals(5, &speech[..2], (2.0, 2.0)).unwrap();
        assert!(short.iter().all(|s| s.family != "babble" && s.samples.len() == 32_000));
        assert!(signals(5, &speech, (3.0, 1.0)).unwrap_err().to_string().contains("MIN <= MAX"));
    }
}
