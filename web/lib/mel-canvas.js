// Draws the whole-track log-Mel image (from the engine's `result.mel`) on a canvas with the
// perceptual magma colormap: low frequencies at the bottom, time left to right.

import { MAGMA_LUT } from './palette.js';

/** Dynamic range shown below the loudest value, in dB (the front end's top_db). */
const RANGE_DB = 80;

/**
 * Renders `mel` = {data: Float32Array (band-major), bands, columns, min, max} into `canvas`
 * (its pixel size becomes columns x bands; CSS scales it).
 */
export function drawMel(canvas, mel) {
  const { bands, columns, data } = mel;
  canvas.width = Math.max(1, columns);
  canvas.height = Math.max(1, bands);
  const ctx = canvas.getContext('2d');
  if (!columns || !bands) return;
  const hi = mel.max;
  const lo = Math.max(mel.min, hi - RANGE_DB);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const image = ctx.createImageData(columns, bands);
  const px = image.data;
  for (let band = 0; band < bands; band++) {
    const row = bands - 1 - band;
    for (let col = 0; col < columns; col++) {
      const v = data[band * columns + col];
      const idx = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round((v - lo) * scale))) : 0;
      const o = (row * columns + col) * 4;
      px[o] = MAGMA_LUT[idx * 4];
      px[o + 1] = MAGMA_LUT[idx * 4 + 1];
      px[o + 2] = MAGMA_LUT[idx * 4 + 2];
      px[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}
