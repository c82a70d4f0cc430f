// Colours: one per genre (a categorical palette that stays distinct for the ten GTZAN
// genres) and the perceptual "magma" colormap for the Mel image.

const GENRE_COLOURS = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#17becf',
];

/** The colour of label `index` (stable for a model's label order). */
export function genreColour(index) {
  return GENRE_COLOURS[index % GENRE_COLOURS.length];
}

// Polynomial fit of matplotlib's magma (Matt Zucker's, CC0): t in [0, 1] -> RGB in [0, 1].
const MAGMA = [
  [-0.002136485053939582, -0.000749655052795221, -0.005386127855323933],
  [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
  [8.353717279216625, -3.577719514958484, 0.3144679030132573],
  [-27.66873308576866, 14.26473078096533, -13.64921318813922],
  [52.17613981234068, -27.94360607168351, 12.94416944238394],
  [-50.76852536473588, 29.04658282127291, 4.23415299384598],
  [18.65570506591883, -11.48977351997711, -5.601961508734096],
];

/** A 256-entry RGBA lookup table of magma (index 0 darkest). */
export const MAGMA_LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = MAGMA.length - 1; k >= 0; k--) v = v * t + MAGMA[k][c];
      lut[i * 4 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    lut[i * 4 + 3] = 255;
  }
  return lut;
})();
