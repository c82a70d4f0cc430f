// The bench page's inputs: the user's clip (or a synthesised one), a long file (the user's,
// or the clip looped), and optionally a synthesised 44.1 kHz stereo clip. All made in memory.

import { encodeWav, loopWav, parseWav, synthesiseWav } from './bench-wav.js';
import { decodeWithWebAudio } from './webaudio.js';

const SYNTH_RATE = 44100;

function synthFile(seconds) {
  const bytes = synthesiseWav({ seconds, sampleRate: SYNTH_RATE, channels: 2 });
  return new File([bytes], `synth-${seconds}s-44k1-stereo.wav`, { type: 'audio/wav' });
}

function isWav(bytes) {
  try {
    parseWav(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The clip as WAV bytes that can be looped: itself if it is a WAV, else decoded by the browser. */
async function loopableWav(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (isWav(bytes)) return { bytes, how: `${file.name} looped` };
  const pcm = await decodeWithWebAudio(bytes.buffer, SYNTH_RATE);
  return { bytes: encodeWav(pcm.samples, pcm.sampleRate, 1), how: `${file.name} decoded by the browser to 16-bit mono ${SYNTH_RATE} Hz and looped` };
}

/**
 * The inputs to time: `[{id, role, origin, file}]` with ids 'clip', 'long' and (when a clip
 * is given and `synth` is set) 'synth'. `clip` / `long`: Files or null; `clipSeconds`,
 * `longSeconds`: lengths of the generated ones.
 */
export async function prepareInputs({ clip = null, long = null, clipSeconds = 30, longSeconds = 300, synth = true }) {
  const inputs = [];
  const clipInput = clip
    ? { id: 'clip', role: 'clip', origin: `picked file ${clip.name}`, file: clip }
    : { id: 'clip', role: 'clip', origin: `synthesised in the page: ${clipSeconds} s, ${SYNTH_RATE} Hz stereo 16-bit WAV`, file: synthFile(clipSeconds) };
  inputs.push(clipInput);
  if (long) {
    inputs.push({ id: 'long', role: 'long file', origin: `picked file ${long.name}`, file: long });
  } else {
    const { bytes, how } = await loopableWav(clipInput.file);
    const file = new File([loopWav(bytes, longSeconds)], `long-${longSeconds}s.wav`, { type: 'audio/wav' });
    inputs.push({ id: 'long', role: 'long file', origin: `built in the page: ${how} to ${longSeconds} s (WAV)`, file });
  }
  if (clip && synth) {
    inputs.push({ id: 'synth', role: 'synthesised clip', origin: `synthesised in the page: ${clipSeconds} s, ${SYNTH_RATE} Hz stereo 16-bit WAV`, file: synthFile(clipSeconds) });
  }
  return inputs;
}
