//! [`Aligned`]: zeroed `f32` scratch that starts on a 64-byte boundary.
//!
//! The fast FIR's im2col rows, products and phase inputs live in it. With plain `Vec<f32>`
//! (4-byte alignment) the same code ran at two speeds in the browser depending on where the
//! allocator put the buffers: in the page's pool the first answer's 3 patches took 655-668 ms
//! instead of about 300 (docs/MEASUREMENTS.md).

use std::ops::{Deref, DerefMut};

/// One cache line of values.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// `len` zeroed values on 64-byte-aligned storage; derefs to `[f32]`.
pub(super) struct Aligned {
    lines: Vec<Line>,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    pub(super) fn zeroed(len: usize) -> Self {
        Aligned { lines: vec![Line([0.0; 16]); len.div_ceil(16)], len }
    }
}

impl Deref for Aligned {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        // SAFETY: `Line` is 16 `f32`s without padding (`repr(C)`, size 64), so the lines are
        // `16 * lines.len() >= len` initialised, contiguous `f32`s.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }
}

impl DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_cache_line_and_holds_len_zeros() {
        for len in [0, 1, 15, 16, 17, 1000] {
            let mut a = Aligned::zeroed(len);
            assert_eq!(a.len(), len);
            assert!(a.iter().all(|&v| v == 0.0));
            assert_eq!(a.as_ptr() as usize % 64, 0, "len {len}");
            if len > 0 {
                a[len - 1] = 2.5;
                assert_eq!(a[len - 1], 2.5);
            }
        }
    }
}
