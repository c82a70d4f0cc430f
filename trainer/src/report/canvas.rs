//! A PNG drawing backend with correct text rendering from an embedded font.
//!
//! [`Canvas`] wraps plotters' `BitMapBackend` and delegates all shapes to it,
//! but lays out and rasterises text itself with `ab_glyph`, from DejaVu Sans
//! embedded in the binary (`trainer/assets/DejaVuSans.ttf`, Bitstream Vera
//! licence in `trainer/assets/DejaVu-LICENSE`). Two reasons:
//!
//! * no dependency on the fonts installed on the machine (CI has none);
//! * plotters 0.3.7's own `ab_glyph` text path ignores each glyph's left side
//!   bearing and truncates pen positions to whole pixels, which gives visibly
//!   uneven letter spacing ("hiph op", "1 7"); here glyphs are positioned with
//!   sub-pixel accuracy and their bearings.
//!
//! The font is also registered with plotters (see [`ensure_font`]) so any
//! plotters code path that measures text through its own font table still works.

use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use anyhow::{ensure, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// DejaVu Sans, embedded so PNG text never depends on system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Font family name used in text styles (plotters' default family name).
pub const FONT: &str = "sans-serif";

fn font() -> Option<&'static FontRef<'static>> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok()).as_ref()
}

/// Parses the embedded font and registers it with plotters (once per process).
pub fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        font().is_some() && register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    ensure!(ok, "the embedded DejaVu Sans font could not be parsed");
    Ok(())
}

/// Horizontal layout of a line of text: glyphs with pen x positions, the total
/// advance width, and the line height (ascent - descent), all in pixels.
struct Layout {
    glyphs: Vec<(ab_glyph::GlyphId, f32)>,
    width: f32,
    ascent: f32,
    height: f32,
    scale: PxScale,
}

fn layout(font: &FontRef<'static>, size: f64, text: &str) -> Layout {
    let scale = PxScale::from(size as f32);
    let sf = font.as_scaled(scale);
    let mut pen = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += sf.h_advance(id);
        prev = Some(id);
    }
    Layout { glyphs, width: pen, ascent: sf.ascent(), height: sf.ascent() - sf.descent(), scale }
}

/// A PNG canvas: `BitMapBackend` for shapes, embedded-font text rendering.
pub struct Canvas<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> Canvas<'a> {
    /// A canvas that writes a PNG to `path` when presented.
    pub fn new(path: &'a Path, size: (u32, u32)) -> Self {
        Self { inner: BitMapBackend::new(path, size) }
    }

    /// A canvas drawing into an RGB buffer of `size.0 * size.1 * 3` bytes.
    pub fn with_buffer(buf: &'a mut [u8], size: (u32, u32)) -> Self {
        Self { inner: BitMapBackend::with_buffer(buf, size) }
    }
}

type BackendError<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for Canvas<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), BackendError<'a>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), BackendError<'a>> {
        self.inner.present()
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), BackendError<'a>> {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), BackendError<'a>> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), BackendError<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), BackendError<'a>> {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), BackendError<'a>> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), BackendError<'a>> {
        self.inner.fill_polygon(vert, style)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), BackendError<'a>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    /// Width = advance width, height = ascent - descent of the embedded font.
    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), BackendError<'a>> {
        let Some(font) = font() else {
            return self.inner.estimate_text_size(text, style);
        };
        let l = layout(font, style.size(), text);
        Ok((l.width.ceil() as u32, l.height.ceil() as u32))
    }

    /// Text anchored by the style's `Pos` in the text's own frame (so after a
    /// `Rotate270` the "right" end of the text is at the anchor), then rotated
    /// about the anchor, as plotters does.
    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), BackendError<'a>> {
        let Some(font) = font() else {
            return self.inner.draw_text(text, style, pos);
        };
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let l = layout(font, style.size(), text);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -l.width / 2.0,
            HPos::Right => -l.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -l.height / 2.0,
            VPos::Bottom => -l.height,
        };
        let trans = style.transform();
        for &(id, pen) in &l.glyphs {
            let glyph = id.with_scale_and_position(l.scale, point(pen + dx, l.ascent + dy));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            }; // e.g. space
            let bounds = outline.px_bounds();
            let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    pixels.push((bx + x as i32, by + y as i32, coverage.min(1.0)));
                }
            });
            for (x, y, coverage) in pixels {
                let (tx, ty) = trans.transform(x, y);
                let c = BackendColor { alpha: color.alpha * f64::from(coverage), rgb: color.rgb };
                self.inner.draw_pixel((pos.0 + tx, pos.1 + ty), c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::text_anchor::Pos;

    const W: u32 = 240;
    const H: u32 = 60;

    /// Renders `text` black on white and returns the inked columns' bounding
    /// box and the set of inked columns.
    fn render(text: &str, style: TextStyle, at: (i32, i32)) -> (Vec<bool>, (i32, i32, i32, i32)) {
        ensure_font().unwrap();
        let mut buf = vec![255u8; (W * H * 3) as usize];
        {
            let area = Canvas::with_buffer(&mut buf, (W, H)).into_drawing_area();
            area.draw(&Text::new(text.to_string(), at, style)).unwrap();
            area.present().unwrap();
        }
        let mut cols = vec![false; W as usize];
        let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        for (i, px) in buf.chunks(3).enumerate() {
            if px[0] < 160 {
                let (x, y) = ((i as u32 % W) as i32, (i as u32 / W) as i32);
                cols[x as usize] = true;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        (cols, (x0, y0, x1, y1))
    }

    #[test]
    fn renders_embedded_font_without_system_fonts() {
        let style = (FONT, 20.0).into_font().color(&BLACK);
        let (cols, (x0, y0, x1, y1)) = render("Genrescope", style, (10, 10));
        assert!(cols.iter().filter(|c| **c).count() > 60, "text was not rendered");
        // Roughly 20 px font: a cap-height-ish tall, ~100 px wide line.
        assert!((10..=13).contains(&x0), "left edge {x0}");
        assert!((80..140).contains(&(x1 - x0)), "width {}", x1 - x0);
        assert!((12..24).contains(&(y1 - y0)), "height {}", y1 - y0);
        assert!(y0 >= 10, "text starts above its top anchor");
    }

    #[test]
    fn centred_anchor_is_centred() {
        let style =
            (FONT, 18.0).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
        let (_, (x0, y0, x1, y1)) = render("88", style, (120, 30));
        let (cx, cy) = ((x0 + x1) as f64 / 2.0, (y0 + y1) as f64 / 2.0);
        assert!((cx - 120.0).abs() <= 1.5, "centre x {cx}");
        assert!((cy - 30.0).abs() <= 2.5, "centre y {cy}");
    }

    #[test]
    fn respects_left_side_bearing() {
        // DejaVu's "1" has a left side bearing of 225/2048 em. At 30 px (about
        // 25.8 px per em) its ink starts ~2.8 px right of the pen; plotters' own
        // renderer starts it at the pen, which is what made "100" read "1 00".
        let style = (FONT, 30.0).into_font().color(&BLACK);
        let (_, (x0, _, _, _)) = render("1", style, (20, 10));
        assert!((22..=23).contains(&x0), "ink starts at {x0}, pen at 20");
    }

    #[test]
    fn measures_like_it_draws() {
        ensure_font().unwrap();
        let mut buf = vec![255u8; (W * H * 3) as usize];
        let area = Canvas::with_buffer(&mut buf, (W, H)).into_drawing_area();
        let style = (FONT, 15.0).into_font().color(&BLACK);
        let (w, h) = area.estimate_text_size("classical", &style).unwrap();
        assert!((55..80).contains(&w), "width {w}");
        assert!((14..=19).contains(&h), "height {h}");
    }
}
