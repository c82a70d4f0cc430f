// Whether this browser's WebAssembly has relaxed SIMD, for the page (lib/backend.js imports
// this file) and the service worker (sw.js, a classic script, loads it with importScripts):
// one copy of the probe for both, so they pick the same CPU engine. A classic script, not a
// module (a classic service worker cannot import one); it defines
// `globalThis.genrescopeRelaxedSimd()`.
//
// The probe is a wasm module whose one function returns `f32x4.relaxed_madd` of three zero
// vectors: it validates only where relaxed SIMD is available (Chrome 114+, Firefox 145+).

globalThis.genrescopeRelaxedSimd = function genrescopeRelaxedSimd() {
  const zeros = () => [0xfd, 0x0c, ...new Array(16).fill(0)]; // v128.const 0
  const body = [0x00, ...zeros(), ...zeros(), ...zeros(), 0xfd, 0x85, 0x02, 0x0b]; // f32x4.relaxed_madd; end
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types = [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b]; // one type: () -> v128
  const functions = [0x03, 0x02, 0x01, 0x00];
  const code = [0x0a, body.length + 2, 0x01, body.length, ...body];
  try {
    return WebAssembly.validate(new Uint8Array([...header, ...types, ...functions, ...code]));
  } catch {
    return false;
  }
};
