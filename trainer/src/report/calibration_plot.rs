//! The calibration figures: the reliability diagram (before and after the temperature) and
//! selective accuracy against coverage.

use std::path::Path;

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{ensure_font, Canvas};
use super::plot::{pe, text_style, BEST, GRID_BOLD, GRID_LIGHT, MUTED, TEXT, TRAIN, VAL};
use crate::calibrate::{Bin, CalibrationReport};

type Chart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Title and subtitle centred at the top of a `width`-pixel canvas.
fn heading(
    root: &DrawingArea<Canvas<'_>, plotters::coord::Shift>,
    width: u32,
    title: &str,
    subtitle: &str,
) -> Result<()> {
    root.draw(&Text::new(
        title.to_string(),
        (width as i32 / 2, 20),
        text_style(21.0, &TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)?;
    root.draw(&Text::new(
        subtitle.to_string(),
        (width as i32 / 2, 46),
        text_style(14.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(pe)
}

/// A unit-square chart (both axes 0..100 %) with its mesh drawn.
fn unit_chart<'a, 'b>(
    area: &'a DrawingArea<Canvas<'b>, plotters::coord::Shift>,
    caption: &str,
    x_desc: &str,
    y_desc: &str,
) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, text_style(17.0, &TEXT))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(62)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(text_style(14.0, &TEXT))
        .axis_desc_style(text_style(15.0, &TEXT))
        .light_line_style(GRID_LIGHT)
        .max_light_lines(1)
        .bold_line_style(GRID_BOLD)
        .draw()
        .map_err(pe)?;
    Ok(chart)
}

/// One reliability panel: a bar per non-empty bin (its accuracy, over its confidence range),
/// the bin's mean confidence as a dot, and the diagonal of perfect calibration.
fn reliability_panel(
    area: &DrawingArea<Canvas<'_>, plotters::coord::Shift>,
    caption: &str,
    bins: &[Bin],
) -> Result<()> {
    let mut chart = unit_chart(area, caption, "Confidence (top probability)", "Accuracy")?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            BEST.stroke_width(1),
        )))
        .map_err(pe)?
        .label("perfect calibration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], BEST.stroke_width(1)));
    let used: Vec<&Bin> = bins.iter().filter(|b| b.count > 0).collect();
    chart
        .draw_series(used.iter().map(|b| {
            Rectangle::new([(b.lower, 0.0), (b.upper, b.accuracy)], TRAIN.mix(0.55).filled())
        }))
        .map_err(pe)?
        .label("accuracy of the bin")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 22, y + 5)], TRAIN.mix(0.55).filled()));
    chart
        .draw_series(used.iter().map(|b| Circle::new((b.confidence, b.accuracy), 4, VAL.filled())))
        .map_err(pe)?
        .label("mean confidence")
        .legend(|(x, y)| Circle::new((x + 11, y), 4, VAL.filled()));
    chart
        .draw_series(used.iter().map(|b| {
            Text::new(
                b.count.to_string(),
                ((b.lower + b.upper) / 2.0, b.accuracy + 0.03),
                text_style(11.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
            )
        }))
        .map_err(pe)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(text_style(13.0, &TEXT))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID_BOLD)
        .draw()
        .map_err(pe)?;
    Ok(())
}

/// Draws the reliability diagram of `report`: before and after the temperature, side by
/// side, with the expected calibration error of each.
pub(super) fn draw_reliability(path: &Path, title: &str, report: &CalibrationReport) -> Result<()> {
    ensure_font()?;
    let (w, h) = (1100u32, 600u32);
    let root = Canvas::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let subtitle = format!(
        "{} out-of-fold tracks · temperature {:.3} · {}-bin ECE {:.3} before, {:.3} after",
        report.tracks,
        report.calibration.temperature,
        report.reliability_before.len(),
        report.ece_before,
        report.ece_after
    );
    heading(&root, w, title, &subtitle)?;
    let (_, body) = root.split_vertically(62);
    let (before, after) = body.split_horizontally(w / 2);
    reliability_panel(&before, "Before calibration", &report.reliability_before)?;
    reliability_panel(
        &after,
        &format!("After calibration (T = {:.2})", report.calibration.temperature),
        &report.reliability_after,
    )?;
    root.present().map_err(pe)?;
    Ok(())
}

/// Draws selective accuracy against coverage (calibrated), marking the `uncertain`
/// threshold's point and the target accuracy.
pub(super) fn draw_selective(path: &Path, title: &str, report: &CalibrationReport) -> Result<()> {
    ensure_font()?;
    let (w, h) = (760u32, 620u32);
    let root = Canvas::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let subtitle = format!(
        "uncertain below {:.3}: {:.1}% of tracks answered, {:.1}% of them right (target {:.0}%)",
        report.calibration.uncertain_below,
        100.0 * report.coverage_at_threshold,
        100.0 * report.accuracy_at_threshold,
        100.0 * report.target_accuracy
    );
    heading(&root, w, title, &subtitle)?;
    let (_, body) = root.split_vertically(62);
    let mut chart = unit_chart(&body, "Selective accuracy", "Coverage (answers kept)", "Accuracy")?;
    let target = report.target_accuracy;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, target), (1.0, target)],
            BEST.stroke_width(1),
        )))
        .map_err(pe)?
        .label(format!("target {:.0}%", 100.0 * target))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], BEST.stroke_width(1)));
    let points: Vec<(f64, f64)> =
        report.selective.iter().map(|p| (p.coverage, p.accuracy)).collect();
    chart
        .draw_series(LineSeries::new(points, TRAIN.stroke_width(2)))
        .map_err(pe)?
        .label("calibrated answers")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], TRAIN.stroke_width(2)));
    let chosen = (report.coverage_at_threshold, report.accuracy_at_threshold);
    chart
        .draw_series(std::iter::once(Circle::new(chosen, 6, VAL.filled())))
        .map_err(pe)?
        .label("at uncertain_below")
        .legend(|(x, y)| Circle::new((x + 11, y), 5, VAL.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font(text_style(13.0, &TEXT))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID_BOLD)
        .draw()
        .map_err(pe)?;
    root.present().map_err(pe)?;
    Ok(())
}
