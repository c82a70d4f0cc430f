// The live mode's AudioWorklet: runs on the audio rendering thread, mixes the microphone to
// mono and posts it to the page in blocks of `blockFrames` samples (a Float32Array, its buffer
// transferred) at the AudioContext's sample rate. It writes nothing to its output, so the
// microphone is never played back. Loaded with `audioWorklet.addModule()` by lib/live.js.

/** Frames per posted block unless the page asks otherwise (~43 ms at 48 kHz). */
const DEFAULT_BLOCK_FRAMES = 2048;

class GenrescopeCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const asked = options?.processorOptions?.blockFrames;
    this.blockFrames = Number.isInteger(asked) && asked >= 128 ? asked : DEFAULT_BLOCK_FRAMES;
    this.block = new Float32Array(this.blockFrames);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // not connected (yet): nothing to do
    const frames = channels[0].length;
    const scale = 1 / channels.length;
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels.length; c++) sum += channels[c][i];
      this.block[this.filled++] = sum * scale;
      if (this.filled === this.blockFrames) {
        this.port.postMessage(this.block, [this.block.buffer]);
        this.block = new Float32Array(this.blockFrames);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('genrescope-capture', GenrescopeCapture);
