//! The panels over time: p50/p99 latency per second, and achieved/target rate per second.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::spectrum::trim;
use super::{chart_error, color};
use crate::error::SmpError;
use crate::result::ResultDocument;

fn x_range(docs: &[ResultDocument]) -> f64 {
    docs.iter().flat_map(|d| d.details.series.iter().map(|p| p.second)).fold(1.0f64, f64::max)
}

pub(super) fn latency<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    docs: &[ResultDocument],
    names: &[String],
) -> Result<(), SmpError> {
    // Headroom above the highest point keeps the legend off the lines.
    let y_max = docs.iter().flat_map(|d| d.details.series.iter().map(|p| p.p99_ms)).fold(0.001f64, f64::max)
        * (1.25 + 0.12 * docs.len() as f64);
    let mut chart = ChartBuilder::on(area)
        .caption("Latency over time", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_range(docs), 0f64..y_max)
        .map_err(chart_error)?;
    mesh(&mut chart, "Latency (ms)")?;
    for (i, d) in docs.iter().enumerate() {
        let c = color(i);
        let p99: Vec<(f64, f64)> = d.details.series.iter().map(|p| (p.second, p.p99_ms)).collect();
        let p50: Vec<(f64, f64)> = d.details.series.iter().map(|p| (p.second, p.p50_ms)).collect();
        dots(&mut chart, &p99, c)?;
        chart
            .draw_series(LineSeries::new(p99, c.stroke_width(3)))
            .map_err(chart_error)?
            .label(format!("{} p99", names[i]))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        chart
            .draw_series(DashedLineSeries::new(p50, 8, 5, c.stroke_width(2)))
            .map_err(chart_error)?
            .label(format!("{} p50", names[i]))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 10, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

pub(super) fn throughput<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    docs: &[ResultDocument],
    names: &[String],
) -> Result<(), SmpError> {
    let y_max = docs
        .iter()
        .flat_map(|d| d.details.series.iter().map(|p| p.rate.max(p.target_rate.unwrap_or(0.0))))
        .fold(1.0f64, f64::max)
        * (1.25 + 0.12 * docs.len() as f64);
    let mut chart = ChartBuilder::on(area)
        .caption("Throughput over time", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_range(docs), 0f64..y_max)
        .map_err(chart_error)?;
    mesh(&mut chart, "Requests per second")?;
    for (i, d) in docs.iter().enumerate() {
        let c = color(i);
        let rate: Vec<(f64, f64)> = d.details.series.iter().map(|p| (p.second, p.rate)).collect();
        let label = format!("{} achieved (mean {}/s)", names[i], trim(d.details.achieved_rate));
        dots(&mut chart, &rate, c)?;
        chart
            .draw_series(LineSeries::new(rate, c.stroke_width(3)))
            .map_err(chart_error)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        let target: Vec<(f64, f64)> =
            d.details.series.iter().filter_map(|p| Some((p.second, p.target_rate?))).collect();
        if !target.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(target, 8, 5, c.mix(0.7).stroke_width(2)))
                .map_err(chart_error)?
                .label(format!("{} target", names[i]))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 10, y)], c.stroke_width(2)));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

fn mesh<'a, DB: DrawingBackend + 'a>(chart: &mut Chart<'a, DB>, y: &str) -> Result<(), SmpError> {
    chart
        .configure_mesh()
        .x_desc("Time (s)")
        .y_desc(y)
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|v| trim(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(chart_error)
}

/// Marks each point of a short series, so a run of a few seconds still shows its points.
fn dots<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    points: &[(f64, f64)],
    c: RGBColor,
) -> Result<(), SmpError> {
    if points.len() > 60 {
        return Ok(());
    }
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, c.filled()))).map_err(chart_error)?;
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut Chart<'a, DB>, at: SeriesLabelPosition) -> Result<(), SmpError> {
    chart
        .configure_series_labels()
        .position(at)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(chart_error)
}
