// WAV bytes for the bench page: read a PCM WAV's layout, loop a WAV to a longer file, write
// PCM as a 16-bit WAV, and synthesise a deterministic music-like stereo test signal. Everything
// works on Uint8Arrays in memory; nothing is fetched.

const text = (bytes, at) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);

/**
 * The layout of a RIFF/WAVE file: `{format, channels, sampleRate, byteRate, blockAlign,
 * bitsPerSample, fmt: Uint8Array (the whole fmt chunk, header included), data: Uint8Array}`.
 * Throws an Error naming the problem when `bytes` is not a WAV with fmt and data chunks.
 */
export function parseWav(bytes) {
  if (bytes.length < 12 || text(bytes, 0) !== 'RIFF' || text(bytes, 8) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt = null;
  let data = null;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = text(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ' && size >= 16 && body + size <= bytes.length) {
      fmt = { at, size };
    } else if (id === 'data') {
      // A truncated file announces more data than it holds; take what is there.
      data = bytes.subarray(body, Math.min(body + size, bytes.length));
    }
    if (fmt && data) break;
    at = body + size + (size & 1);
  }
  if (!fmt) throw new Error('the WAV file has no valid fmt chunk');
  if (!data) throw new Error('the WAV file has no data chunk');
  const f = fmt.at + 8;
  const layout = {
    format: view.getUint16(f, true),
    channels: view.getUint16(f + 2, true),
    sampleRate: view.getUint32(f + 4, true),
    byteRate: view.getUint32(f + 8, true),
    blockAlign: view.getUint16(f + 12, true),
    bitsPerSample: view.getUint16(f + 14, true),
    fmt: bytes.subarray(fmt.at, fmt.at + 8 + fmt.size + (fmt.size & 1)),
  };
  if (!layout.channels || !layout.sampleRate || !layout.blockAlign) {
    throw new Error('the WAV fmt chunk has zero channels, sample rate or block size');
  }
  layout.data = data.subarray(0, data.length - (data.length % layout.blockAlign));
  if (!layout.data.length) throw new Error('the WAV file holds no audio frames');
  return layout;
}

/** Assembles a WAV from a complete fmt chunk and `dataLength` bytes written by `fill(out)`. */
function assemble(fmtChunk, dataLength, fill) {
  if (dataLength > 0xffff_ffff - 64) throw new Error('a WAV file cannot hold 4 GB of audio');
  const out = new Uint8Array(12 + fmtChunk.length + 8 + dataLength);
  const view = new DataView(out.buffer);
  out.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  view.setUint32(4, out.length - 8, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8); // WAVE
  out.set(fmtChunk, 12);
  const data = 12 + fmtChunk.length;
  out.set([0x64, 0x61, 0x74, 0x61], data); // data
  view.setUint32(data + 4, dataLength, true);
  fill(out.subarray(data + 8));
  return out;
}

/**
 * A WAV of `seconds` made by repeating the audio of the WAV `bytes` end to end (the format
 * is kept; other chunks are dropped). Throws when `bytes` is not a WAV.
 */
export function loopWav(bytes, seconds) {
  const wav = parseWav(bytes);
  const frames = Math.round(seconds * wav.sampleRate);
  const length = frames * wav.blockAlign;
  return assemble(wav.fmt, length, (out) => {
    for (let at = 0; at < length; at += wav.data.length) {
      out.set(wav.data.subarray(0, Math.min(wav.data.length, length - at)), at);
    }
  });
}

/** A 16-bit PCM WAV of interleaved samples in [-1, 1] (clipped). */
export function encodeWav(interleaved, sampleRate, channels) {
  const fmt = new Uint8Array(24);
  const view = new DataView(fmt.buffer);
  fmt.set([0x66, 0x6d, 0x74, 0x20], 0); // 'fmt '
  view.setUint32(4, 16, true);
  view.setUint16(8, 1, true); // PCM
  view.setUint16(10, channels, true);
  view.setUint32(12, sampleRate, true);
  view.setUint32(16, sampleRate * channels * 2, true);
  view.setUint16(20, channels * 2, true);
  view.setUint16(22, 16, true);
  return assemble(fmt, interleaved.length * 2, (out) => {
    const pcm = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < interleaved.length; i++) {
      const s = Math.max(-1, Math.min(1, interleaved[i]));
      pcm.setInt16(i * 2, Math.round(s * 32767), true);
    }
  });
}

/**
 * A deterministic music-like signal as a 16-bit WAV (default 44.1 kHz stereo, so the engine
 * decodes, downmixes and resamples it): a 120 bpm kick, off-beat hi-hats of seeded noise and
 * a four-chord pad with a bass line, panned apart.
 */
export function synthesiseWav({ seconds, sampleRate = 44100, channels = 2, seed = 1 }) {
  const frames = Math.round(seconds * sampleRate);
  const out = new Float32Array(frames * channels);
  let state = seed >>> 0 || 1;
  const noise = () => {
    // xorshift32: the same seed gives the same file in every browser.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 31 - 1;
  };
  const beat = 0.5; // seconds per beat at 120 bpm
  const chords = [
    [220.0, 277.18, 329.63],
    [196.0, 246.94, 293.66],
    [174.61, 220.0, 261.63],
    [196.0, 246.94, 311.13],
  ];
  const tau = 2 * Math.PI;
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const inBeat = t % beat;
    const kick = Math.exp(-inBeat * 18) * Math.sin(tau * (50 + 60 * Math.exp(-inBeat * 30)) * inBeat);
    const offBeat = (t + beat / 2) % beat;
    const hat = Math.exp(-offBeat * 60) * noise() * 0.35;
    const chord = chords[Math.floor(t / (4 * beat)) % chords.length];
    let pad = 0;
    for (const f of chord) pad += Math.sin(tau * f * t) + 0.3 * Math.sin(tau * 2 * f * t);
    pad *= 0.05;
    const bass = 0.25 * Math.sin(tau * (chord[0] / 2) * t) * (0.6 + 0.4 * Math.exp(-inBeat * 4));
    const centre = 0.4 * kick + 0.7 * bass;
    if (channels === 1) {
      out[i] = centre + hat + pad;
    } else {
      out[i * channels] = centre + 0.7 * hat + 1.2 * pad;
      out[i * channels + 1] = centre + 1.3 * hat + 0.8 * pad;
      for (let c = 2; c < channels; c++) out[i * channels + c] = centre;
    }
  }
  return encodeWav(out, sampleRate, channels);
}
