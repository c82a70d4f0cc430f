//! Harmonic/percussive separation of a complex spectrogram (`librosa.decompose.hpss` with
//! kernel 31, power 2, margin 1): median filters across time (harmonic) and across
//! frequency (percussive), then soft masks.

use rustfft::num_complex::Complex32;

use super::spectrum::{Spectrogram, N_BINS};

/// Median filter length in frames (harmonic) and bins (percussive).
pub const KERNEL: usize = 31;

/// The harmonic and percussive parts of `spectrogram` (each the input times its soft mask),
/// given its `magnitudes` ([`Spectrogram::magnitudes`]).
pub fn hpss(spectrogram: &Spectrogram, magnitudes: &[f32]) -> (Spectrogram, Spectrogram) {
    let n_frames = spectrogram.n_frames;
    let mut harmonic = vec![0.0f32; magnitudes.len()];
    let mut percussive = vec![0.0f32; magnitudes.len()];
    // Across time, bin by bin: on a bin-major copy (transposed in tiles, so both sides stay
    // in cache), then back.
    let mut by_bin = vec![0.0f32; magnitudes.len()];
    transpose(magnitudes, n_frames, N_BINS, &mut by_bin);
    let mut filtered = vec![0.0f32; magnitudes.len()];
    let line_len = n_frames.max(1);
    for (line, out) in by_bin.chunks_exact(line_len).zip(filtered.chunks_exact_mut(line_len)) {
        running_median(line, out);
    }
    transpose(&filtered, N_BINS, n_frames, &mut harmonic);
    for (frame, out) in magnitudes.chunks_exact(N_BINS).zip(percussive.chunks_exact_mut(N_BINS)) {
        running_median(frame, out);
    }
    let mut harmonic_bins = Vec::with_capacity(magnitudes.len());
    let mut percussive_bins = Vec::with_capacity(magnitudes.len());
    for (((&z, &m), &h), &p) in
        spectrogram.bins.iter().zip(magnitudes).zip(&harmonic).zip(&percussive)
    {
        let (mask_h, mask_p) = soft_masks(h, p);
        // librosa: (|X| * mask) * phase, with phase 1 where |X| is 0.
        let phase = if m == 0.0 { Complex32::new(1.0, 0.0) } else { z / m };
        harmonic_bins.push(phase * (m * mask_h));
        percussive_bins.push(phase * (m * mask_p));
    }
    (Spectrogram { n_frames, bins: harmonic_bins }, Spectrogram { n_frames, bins: percussive_bins })
}

/// `out` (`cols` x `rows`) = the transpose of `m` (`rows` x `cols`, row-major), in tiles.
fn transpose(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = m[r * cols + c];
                }
            }
        }
    }
}

/// Wiener-like masks with power 2 (`librosa.util.softmask(.., split_zeros=True)`): 0.5 each
/// where both medians are (near) zero.
fn soft_masks(harmonic: f32, percussive: f32) -> (f32, f32) {
    let z = harmonic.max(percussive);
    if z < f32::MIN_POSITIVE {
        return (0.5, 0.5);
    }
    let (h, p) = ((harmonic / z).powi(2), (percussive / z).powi(2));
    (h / (h + p), p / (h + p))
}

/// Median of every [`KERNEL`]-long window centred on each value of `line`, with the
/// edges mirrored including the edge value (`scipy.ndimage.median_filter(mode="reflect")`).
/// The window is kept sorted: each step finds the outgoing value's slot and the incoming
/// value's by counting (branch-free, so it vectorises) and moves the values between them by
/// one place in a single copy.
pub fn running_median(line: &[f32], out: &mut [f32]) {
    let n = line.len();
    let half = KERNEL / 2;
    // The line with its mirrored edges, so the loop below indexes it directly.
    let padded: Vec<f32> =
        (-(half as isize)..(n + half) as isize).map(|i| line[mirrored_index(i, n)]).collect();
    let mut window = [0.0f32; KERNEL];
    window.copy_from_slice(&padded[..KERNEL]);
    window.sort_by(f32::total_cmp);
    let below = |window: &[f32; KERNEL], x: f32| {
        window.iter().map(|&v| (v < x) as u32).sum::<u32>() as usize
    };
    for (i, o) in out.iter_mut().enumerate() {
        *o = window[half];
        if i + 1 < n {
            let (outgoing, incoming) = (padded[i], padded[i + KERNEL]);
            // The outgoing value is at `from` (the first of its equals); the incoming one
            // belongs before the values not below it.
            let from: usize = below(&window, outgoing);
            let to: usize = below(&window, incoming);
            if to > from {
                window.copy_within(from + 1..to, from);
                window[to - 1] = incoming;
            } else {
                window.copy_within(to..from, to + 1);
                window[to] = incoming;
            }
        }
    }
}

/// Index into a line of `len` values extended by mirroring with the edge repeated
/// (`d c b a | a b c d | d c b a`), for any offset.
fn mirrored_index(i: isize, len: usize) -> usize {
    let period = 2 * len as isize;
    let k = i.rem_euclid(period);
    if k < len as isize {
        k as usize
    } else {
        (period - 1 - k) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_median(line: &[f32], i: usize) -> f32 {
        let half = (KERNEL / 2) as isize;
        let mut w: Vec<f32> =
            (-half..=half).map(|d| line[mirrored_index(i as isize + d, line.len())]).collect();
        w.sort_by(f32::total_cmp);
        w[KERNEL / 2]
    }

    #[test]
    fn running_median_equals_sorting_every_window() {
        for len in [5usize, 31, 100] {
            let line: Vec<f32> = (0..len).map(|i| ((i * 7919 + 13) % 101) as f32 / 7.0).collect();
            let mut out = vec![0.0; len];
            running_median(&line, &mut out);
            for (i, &v) in out.iter().enumerate() {
                assert_eq!(v, naive_median(&line, i), "len {len} index {i}");
            }
        }
    }

    #[test]
    fn mirroring_repeats_the_edge() {
        let idx: Vec<usize> = (-3..7).map(|i| mirrored_index(i, 4)).collect();
        assert_eq!(idx, vec![2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
    }

    #[test]
    fn masks_split_silence_and_favour_the_larger_median() {
        assert_eq!(soft_masks(0.0, 0.0), (0.5, 0.5));
        let (h, p) = soft_masks(3.0, 1.0);
        assert!((h - 0.9).abs() < 1e-6 && (p - 0.1).abs() < 1e-6);
    }
}
