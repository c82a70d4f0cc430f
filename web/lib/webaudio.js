// Fallback decoding with the browser's own decoders (WebAudio), for formats the Rust decoder
// does not read (e.g. Opus in WebM or Ogg). Runs on the main thread (OfflineAudioContext is
// not available in workers); decodeAudioData itself works off the main thread, so the page
// stays responsive.

/**
 * Decodes `bytes` (an ArrayBuffer; it is detached afterwards) to mono PCM at `sampleRate`
 * (the model's rate, so the browser's decoder resamples once and the engine not at all).
 * Resolves to `{samples: Float32Array, sampleRate, channels, duration}`.
 */
export async function decodeWithWebAudio(bytes, sampleRate) {
  const Context = globalThis.OfflineAudioContext ?? globalThis.webkitOfflineAudioContext;
  if (!Context) throw new Error('this browser has no WebAudio decoder');
  const context = new Context(1, 1, sampleRate);
  let buffer;
  try {
    buffer = await context.decodeAudioData(bytes);
  } catch (err) {
    throw new Error(`the browser could not decode it either (${err?.message || err?.name || 'unknown error'})`);
  }
  const channels = buffer.numberOfChannels;
  const samples = new Float32Array(buffer.length);
  for (let c = 0; c < channels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < data.length; i++) samples[i] += data[i];
  }
  if (channels > 1) {
    for (let i = 0; i < samples.length; i++) samples[i] /= channels;
  }
  return { samples, sampleRate: buffer.sampleRate, channels, duration: buffer.duration };
}
