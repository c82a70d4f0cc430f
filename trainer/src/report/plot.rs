//! The report figures: track-level confusion heatmap and training curves.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontTransform, RGBColor};

use super::canvas::{ensure_font, Canvas, FONT};
use super::{best_epoch, duration, epochs};
use crate::metrics::EpochRecord;

/// Converts any plotters error (their error types are not always `Send + Sync`).
pub(super) fn pe<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

pub(super) const TEXT: RGBColor = RGBColor(30, 30, 30);
pub(super) const MUTED: RGBColor = RGBColor(110, 110, 110);

/// Sequential white-to-blue colour map (matplotlib "Blues" stops), `v` in [0, 1].
fn blues(v: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ];
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let x = v * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let t = x - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

pub(super) fn text_style(size: f64, color: &RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(color)
}

fn text_width(area: &DrawingArea<Canvas<'_>, Shift>, s: &str, style: &TextStyle) -> Result<i32> {
    Ok(area.estimate_text_size(s, style).map_err(pe)?.0 as i32)
}

/// Draws a track-level confusion heatmap: rows = truth, columns = prediction,
/// colours normalised per row (recall per class on the diagonal), counts and
/// row percentages in the cells, support per row on the right, colour bar.
pub(super) fn draw_confusion(
    path: &Path,
    title: &str,
    subtitle: &str,
    labels: &[String],
    confusion: &[Vec<usize>],
) -> Result<()> {
    ensure_font()?;
    let n = labels.len();
    // Cell size: a 10-genre matrix gets 52 px cells (about 780 x 760 px overall).
    let cell: i32 = if n == 0 { 52 } else { (520 / n as i32).clamp(26, 64) };
    let tick_size = if cell >= 40 { 15.0 } else { 12.0 };
    let count_size = (cell as f64 * 0.32).clamp(10.0, 17.0);
    let pct_size = (cell as f64 * 0.22).clamp(9.0, 12.0);
    let show_pct = cell >= 44;

    // Measure labels on a throw-away 1x1 backend.
    let tick = text_style(tick_size, &TEXT);
    let mut probe_buf = vec![0u8; 3];
    let label_w = {
        let probe = Canvas::with_buffer(&mut probe_buf, (1, 1)).into_drawing_area();
        let mut w = 0;
        for l in labels {
            w = w.max(text_width(&probe, l, &tick)?);
        }
        let title_w = text_width(&probe, title, &text_style(21.0, &TEXT))?;
        let sub_w = text_width(&probe, subtitle, &text_style(14.0, &TEXT))?;
        (w, title_w.max(sub_w))
    };
    let (label_w, header_w) = label_w;
    let horizontal_x_labels = label_w + 6 <= cell;

    let pad = 18;
    let axis_title = 20; // height of the rotated "True genre" / "Predicted genre" text
    let left = pad + axis_title + 10 + label_w + 8;
    let top = pad + 30 + 22 + 26;
    let grid = cell * n as i32;
    let x_label_h = if horizontal_x_labels { tick_size as i32 + 4 } else { label_w };
    let bottom = 8 + x_label_h + 12 + axis_title + pad;
    let support_w = 46; // "n" column right of the grid
    let bar_w = 18;
    let colorbar = 22 + bar_w + 8 + 44; // gap, bar, gap, tick labels
    let width = (left + grid + support_w + colorbar + pad).max(header_w + 2 * pad).max(420);
    let height = top + grid + bottom;

    let root = Canvas::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;

    // Title and subtitle, centred on the canvas.
    root.draw(&Text::new(
        title.to_string(),
        (width / 2, pad + 12),
        text_style(21.0, &TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;
    root.draw(&Text::new(
        subtitle.to_string(),
        (width / 2, pad + 40),
        text_style(14.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;

    if n == 0 {
        root.draw(&Text::new(
            "no classes".to_string(),
            (width / 2, top + 20),
            text_style(16.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(pe)?;
        root.present().map_err(pe)?;
        return Ok(());
    }
    ensure!(
        confusion.len() == n && confusion.iter().all(|r| r.len() == n),
        "confusion matrix is not {n} x {n}"
    );

    let gx = left; // grid origin
    let gy = top;
    for (i, row) in confusion.iter().enumerate() {
        let support: usize = row.iter().sum();
        for (j, &c) in row.iter().enumerate() {
            let frac = if support == 0 { 0.0 } else { c as f64 / support as f64 };
            let x0 = gx + j as i32 * cell;
            let y0 = gy + i as i32 * cell;
            let fill = blues(frac);
            root.draw(&Rectangle::new([(x0, y0), (x0 + cell, y0 + cell)], fill.filled()))
                .map_err(pe)?;
            // thin white separators
            root.draw(&Rectangle::new([(x0, y0), (x0 + cell, y0 + cell)], WHITE.stroke_width(1)))
                .map_err(pe)?;
            let ink = if frac > 0.5 {
                WHITE
            } else if c == 0 {
                RGBColor(170, 170, 170)
            } else {
                TEXT
            };
            let cx = x0 + cell / 2;
            let cy = y0 + cell / 2;
            if show_pct && c > 0 {
                root.draw(&Text::new(
                    c.to_string(),
                    (cx, cy - (pct_size * 0.55) as i32),
                    text_style(count_size, &ink).pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(pe)?;
                root.draw(&Text::new(
                    format!("{:.0}%", frac * 100.0),
                    (cx, cy + (count_size * 0.6) as i32),
                    text_style(pct_size, &ink).pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(pe)?;
            } else {
                root.draw(&Text::new(
                    c.to_string(),
                    (cx, cy),
                    text_style(count_size, &ink).pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(pe)?;
            }
        }
        // support column
        root.draw(&Text::new(
            support.to_string(),
            (gx + grid + 10, gy + i as i32 * cell + cell / 2),
            text_style(tick_size, &MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(pe)?;
    }
    root.draw(&Text::new(
        "n".to_string(),
        (gx + grid + 10, gy - 12),
        text_style(tick_size, &MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
    ))
    .map_err(pe)?;
    root.draw(&Rectangle::new(
        [(gx, gy), (gx + grid, gy + grid)],
        RGBColor(120, 120, 120).stroke_width(1),
    ))
    .map_err(pe)?;

    // Row (truth) labels, right-aligned against the grid.
    for (i, l) in labels.iter().enumerate() {
        root.draw(&Text::new(
            l.clone(),
            (gx - 8, gy + i as i32 * cell + cell / 2),
            tick.pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(pe)?;
    }
    // Column (prediction) labels: horizontal when they fit, else vertical (bottom-to-top).
    for (j, l) in labels.iter().enumerate() {
        let cx = gx + j as i32 * cell + cell / 2;
        if horizontal_x_labels {
            root.draw(&Text::new(
                l.clone(),
                (cx, gy + grid + 8),
                tick.pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(pe)?;
        } else {
            // Rotate270: the text's "right" end is at the anchor, reading upwards.
            root.draw(&Text::new(
                l.clone(),
                (cx, gy + grid + 8),
                tick.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(pe)?;
        }
    }
    // Axis titles.
    let axis = text_style(16.0, &TEXT);
    root.draw(&Text::new(
        "Predicted genre".to_string(),
        (gx + grid / 2, gy + grid + 8 + x_label_h + 12 + axis_title / 2),
        axis.pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;
    root.draw(&Text::new(
        "True genre".to_string(),
        (pad + axis_title / 2, gy + grid / 2),
        axis.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;

    // Colour bar: fraction of the row (0 % .. 100 %).
    let bx = gx + grid + support_w + 22;
    let steps = grid.max(1);
    for k in 0..steps {
        let v = 1.0 - k as f64 / (steps - 1).max(1) as f64;
        root.draw(&Rectangle::new([(bx, gy + k), (bx + bar_w, gy + k + 1)], blues(v).filled()))
            .map_err(pe)?;
    }
    root.draw(&Rectangle::new(
        [(bx, gy), (bx + bar_w, gy + grid)],
        RGBColor(120, 120, 120).stroke_width(1),
    ))
    .map_err(pe)?;
    for t in [0, 25, 50, 75, 100] {
        let y = gy + grid - (grid as f64 * t as f64 / 100.0).round() as i32;
        root.draw(&PathElement::new(vec![(bx + bar_w, y), (bx + bar_w + 4, y)], TEXT))
            .map_err(pe)?;
        root.draw(&Text::new(
            format!("{t}%"),
            (bx + bar_w + 7, y),
            text_style(12.0, &MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(pe)?;
    }
    root.draw(&Text::new(
        "of row".to_string(),
        (bx + bar_w / 2, gy + grid + 16),
        text_style(12.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;

    root.present().map_err(pe)?;
    Ok(())
}

/// Finite `(x, y)` points only, so a missing value (NaN) leaves a gap-free line
/// over the remaining epochs instead of breaking the plot.
fn finite_points(history: &[EpochRecord], f: impl Fn(&EpochRecord) -> f64) -> Vec<(f64, f64)> {
    history.iter().map(|r| (r.epoch as f64, f(r))).filter(|(_, y)| y.is_finite()).collect()
}

/// Tick labels only at integer epochs.
fn epoch_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

pub(super) const TRAIN: RGBColor = RGBColor(31, 119, 180); // tab:blue
pub(super) const VAL: RGBColor = RGBColor(255, 127, 14); // tab:orange
const LR: RGBColor = RGBColor(44, 160, 44); // tab:green
pub(super) const BEST: RGBColor = RGBColor(150, 150, 150);
pub(super) const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
pub(super) const GRID_BOLD: RGBColor = RGBColor(215, 215, 215);

/// One line-with-markers series plus its legend entry.
fn series<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    label: &str,
) -> Result<()> {
    chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
        .map_err(pe)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2)));
    chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(pe)?;
    Ok(())
}

/// Draws the training curves: loss (train/val) and accuracy (train/val) side by
/// side, learning rate (log scale) below; the best validation epoch is marked.
pub(super) fn draw_curves(path: &Path, title: &str, history: &[EpochRecord]) -> Result<()> {
    ensure_font()?;
    if history.is_empty() {
        bail!("no history to plot");
    }
    let (w, h) = (1100u32, 820u32);
    let root = Canvas::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let total: f64 = history.iter().map(|r| r.seconds).sum();
    let best = best_epoch(history);
    let mut subtitle = format!("{}, {}", epochs(history.len()), duration(total));
    if let Some(b) = best {
        let _ = write!(
            subtitle,
            " · kept epoch {} (lowest validation loss {:.3})",
            b.epoch, b.val_loss
        );
    }
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 20),
        text_style(21.0, &TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;
    root.draw(&Text::new(
        subtitle,
        (w as i32 / 2, 46),
        text_style(14.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;
    let (_, body) = root.split_vertically(62);
    let (upper, lower) = body.split_vertically(500);
    let (loss_area, acc_area) = upper.split_horizontally(w / 2);

    let e_min = history.iter().map(|r| r.epoch).min().unwrap_or(1) as f64;
    let e_max = history.iter().map(|r| r.epoch).max().unwrap_or(1) as f64;
    let x_range = (e_min - 0.5)..(e_max + 0.5);
    let x_labels = ((e_max - e_min) as usize + 1).clamp(2, 12);
    let label_style = text_style(14.0, &TEXT);
    let desc_style = text_style(15.0, &TEXT);
    let caption_style = text_style(17.0, &TEXT);

    // --- loss
    let train_loss = finite_points(history, |r| r.train_loss);
    let val_loss = finite_points(history, |r| r.val_loss);
    let loss_max = train_loss.iter().chain(&val_loss).map(|p| p.1).fold(0.0f64, f64::max);
    let loss_top = if loss_max > 0.0 { loss_max * 1.08 } else { 1.0 };
    {
        let mut chart = ChartBuilder::on(&loss_area)
            .caption("Loss (cross-entropy)", caption_style.clone())
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(62)
            .build_cartesian_2d(x_range.clone(), 0.0..loss_top)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_labels(x_labels)
            .x_label_formatter(&epoch_label)
            .y_label_formatter(&|y| format!("{y:.2}"))
            .x_desc("Epoch")
            .y_desc("Loss")
            .label_style(label_style.clone())
            .axis_desc_style(desc_style.clone())
            .light_line_style(GRID_LIGHT)
            .max_light_lines(4)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(pe)?;
        if let Some(b) = best {
            let x = b.epoch as f64;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, loss_top)],
                    BEST.stroke_width(1),
                )))
                .map_err(pe)?;
        }
        series(&mut chart, train_loss, TRAIN, "train")?;
        series(&mut chart, val_loss, VAL, "validation")?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(label_style.clone())
            .background_style(WHITE.mix(0.9))
            .border_style(GRID_BOLD)
            .draw()
            .map_err(pe)?;
    }

    // --- accuracy (percent)
    let train_acc = finite_points(history, |r| r.train_accuracy * 100.0);
    let val_acc = finite_points(history, |r| r.val_accuracy * 100.0);
    let (lo, hi) = train_acc
        .iter()
        .chain(&val_acc)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (mut acc_lo, mut acc_hi) = if lo.is_finite() {
        (((lo - 5.0) / 10.0).floor() * 10.0, ((hi + 5.0) / 10.0).ceil() * 10.0)
    } else {
        (0.0, 100.0)
    };
    acc_lo = acc_lo.max(0.0);
    acc_hi = acc_hi.min(100.0).max(acc_lo + 10.0);
    {
        let mut chart = ChartBuilder::on(&acc_area)
            .caption("Accuracy", caption_style.clone())
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(62)
            .build_cartesian_2d(x_range.clone(), acc_lo..acc_hi)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_labels(x_labels)
            .x_label_formatter(&epoch_label)
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .x_desc("Epoch")
            .y_desc("Accuracy")
            .label_style(label_style.clone())
            .axis_desc_style(desc_style.clone())
            .light_line_style(GRID_LIGHT)
            .max_light_lines(4)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(pe)?;
        if let Some(b) = best {
            let x = b.epoch as f64;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, acc_lo), (x, acc_hi)],
                    BEST.stroke_width(1),
                )))
                .map_err(pe)?
                .label(format!("kept (epoch {})", b.epoch))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], BEST.stroke_width(1)));
        }
        series(&mut chart, train_acc, TRAIN, "train")?;
        series(&mut chart, val_acc, VAL, "validation")?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(label_style.clone())
            .background_style(WHITE.mix(0.9))
            .border_style(GRID_BOLD)
            .draw()
            .map_err(pe)?;
    }

    // --- learning rate, log10 scale drawn on a linear axis
    let lr: Vec<(f64, f64)> = history
        .iter()
        .filter(|r| r.learning_rate.is_finite() && r.learning_rate > 0.0)
        .map(|r| (r.epoch as f64, r.learning_rate.log10()))
        .collect();
    let (lr_lo, lr_hi) = lr
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lr_lo, lr_hi) = if !lr_lo.is_finite() {
        (-4.0, -2.0)
    } else if lr_hi - lr_lo < 0.5 {
        let mid = (lr_hi + lr_lo) / 2.0;
        (mid - 0.5, mid + 0.5)
    } else {
        (lr_lo.floor(), lr_hi.ceil())
    };
    let mut chart = ChartBuilder::on(&lower)
        .caption("Learning rate (log scale)", caption_style)
        .margin(14)
        .margin_left(14 + w as i32 / 4)
        .margin_right(14 + w as i32 / 4)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, lr_lo..lr_hi)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .y_labels(5)
        .x_label_formatter(&epoch_label)
        .y_label_formatter(&|y| format!("{:.0e}", 10f64.powf(*y)))
        .x_desc("Epoch")
        .y_desc("LR")
        .label_style(label_style)
        .axis_desc_style(desc_style)
        .light_line_style(GRID_LIGHT)
        .max_light_lines(4)
        .bold_line_style(GRID_BOLD)
        .draw()
        .map_err(pe)?;
    // Steps: the LR is constant within an epoch.
    let steps: Vec<(f64, f64)> =
        lr.iter().flat_map(|&(x, y)| [(x - 0.5, y), (x + 0.5, y)]).collect();
    chart.draw_series(LineSeries::new(steps, LR.stroke_width(2))).map_err(pe)?;
    chart.draw_series(lr.into_iter().map(|p| Circle::new(p, 3, LR.filled()))).map_err(pe)?;

    root.present().map_err(pe)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_ends() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(0.5), RGBColor(107, 174, 214));
        assert_eq!(blues(f64::NAN), blues(0.0));
    }

    #[test]
    fn epoch_labels_only_at_integers() {
        assert_eq!(epoch_label(&3.0), "3");
        assert_eq!(epoch_label(&2.5), "");
    }
}
