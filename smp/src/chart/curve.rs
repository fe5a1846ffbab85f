//! The latency-throughput curve of stepped runs (`meshperf sweep`, `meshperf search`): corrected
//! p50, p99 and p99.9 latency against the achieved rate, one point per step, on a log latency
//! axis, with the knee and the search's answer marked; below it, each step's achieved rate
//! against its target, so saturation shows as points falling off the diagonal.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::spectrum::trim;
use super::{chart_error, color};
use crate::error::SmpError;
use crate::result::ResultDocument;
use crate::stepped::{Step, Stepped};

/// The steps of a document with a latency to draw, by target rate.
fn points(stepped: &Stepped) -> Vec<&Step> {
    let mut steps: Vec<&Step> = stepped.steps.iter().filter(|s| s.latency_ms.count > 0).collect();
    steps.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    steps
}

/// Lowest latency drawn, ms (the log axis needs a floor).
const FLOOR_MS: f64 = 0.001;

pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    docs: &[ResultDocument],
    names: &[String],
) -> Result<(), SmpError> {
    let stepped: Vec<&Stepped> = docs.iter().filter_map(|d| d.details.stepped.as_deref()).collect();
    let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 * 68 / 100);
    curve(&top, &stepped, names)?;
    keeping_up(&bottom, &stepped, names)
}

fn curve<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    docs: &[&Stepped],
    names: &[String],
) -> Result<(), SmpError> {
    let all: Vec<&Step> = docs.iter().flat_map(|d| points(d)).collect();
    let x_max = all.iter().map(|s| s.achieved_rate).fold(1.0f64, f64::max) * 1.12;
    let y_min = all.iter().map(|s| s.latency_ms.p50).fold(f64::MAX, f64::min).max(FLOOR_MS) / 1.5;
    let y_max = all.iter().map(|s| s.latency_ms.p99_9).fold(FLOOR_MS * 10.0, f64::max) * 3.0;
    let y_min = if y_min.is_finite() && y_min < y_max { y_min } else { FLOOR_MS };
    let mut chart = ChartBuilder::on(area)
        .caption("Latency against throughput (one point per step)", ("sans-serif", 26))
        .margin(16)
        .margin_right(40)
        .x_label_area_size(48)
        .y_label_area_size(86)
        .build_cartesian_2d(0f64..x_max, (y_min..y_max).log_scale())
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("Achieved rate (successful responses per second)")
        .y_desc("Latency, corrected (ms, log scale)")
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|y| trim(*y))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(BLACK.mix(0.04))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(chart_error)?;
    for (i, d) in docs.iter().enumerate() {
        let c = color(i);
        let steps = points(d);
        let at = |f: fn(&Step) -> f64| -> Vec<(f64, f64)> {
            steps.iter().map(|s| (s.achieved_rate, f(s).max(FLOOR_MS))).collect()
        };
        let p99 = at(|s| s.latency_ms.p99);
        chart
            .draw_series(LineSeries::new(p99.clone(), c.stroke_width(3)))
            .map_err(chart_error)?
            .label(format!("{} p99", names[i]))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        // Passed steps are filled dots, failed ones crosses.
        chart
            .draw_series(steps.iter().zip(&p99).map(|(s, p)| {
                if s.passed {
                    Circle::new(*p, 5, c.filled()).into_dyn()
                } else {
                    Cross::new(*p, 6, c.stroke_width(3)).into_dyn()
                }
            }))
            .map_err(chart_error)?;
        chart
            .draw_series(LineSeries::new(at(|s| s.latency_ms.p99_9), c.mix(0.55).stroke_width(2)))
            .map_err(chart_error)?
            .label(format!("{} p99.9", names[i]))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.mix(0.55).stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(at(|s| s.latency_ms.p50), 8, 5, c.stroke_width(2)))
            .map_err(chart_error)?
            .label(format!("{} p50", names[i]))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 10, y)], c.stroke_width(2)));
        if let Some(k) = &d.knee {
            let p = (k.achieved_rate, k.p99_ms.max(FLOOR_MS));
            chart
                .draw_series([
                    Circle::new(p, 13, BLACK.stroke_width(2)).into_dyn(),
                    Text::new(
                        format!("knee: {} req/s, p99 {} ms", trim(k.rate), trim(k.p99_ms)),
                        (k.achieved_rate, k.p99_ms.max(FLOOR_MS) * 2.2),
                        ("sans-serif", 17),
                    )
                    .into_dyn(),
                ])
                .map_err(chart_error)?;
        }
        if let (Some(max), Some(step)) = (d.answer.max_rate, d.answer.passed_step) {
            let x = d.steps.iter().find(|s| s.index == step).map_or(max, |s| s.achieved_rate);
            let slo = if d.slos.is_empty() { String::new() } else { format!(" under {}", d.slos.join(", ")) };
            chart
                .draw_series(DashedLineSeries::new([(x, y_min), (x, y_max)], 6, 6, c.mix(0.8).stroke_width(1)))
                .map_err(chart_error)?
                .label(format!("{} max {} req/s{slo}", names[i], trim(max)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y - 6), (x, y + 6)], c.stroke_width(2)));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(chart_error)
}

fn keeping_up<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    docs: &[&Stepped],
    names: &[String],
) -> Result<(), SmpError> {
    let all: Vec<&Step> = docs.iter().flat_map(|d| d.steps.iter()).collect();
    let max = all.iter().map(|s| s.rate.max(s.achieved_rate)).fold(1.0f64, f64::max) * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption("Achieved against target rate", ("sans-serif", 22))
        .margin(16)
        .margin_right(40)
        .x_label_area_size(44)
        .y_label_area_size(86)
        .build_cartesian_2d(0f64..max, 0f64..max)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("Target rate (requests per second)")
        .y_desc("Achieved rate")
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|y| trim(*y))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(chart_error)?;
    chart
        .draw_series(DashedLineSeries::new([(0.0, 0.0), (max, max)], 6, 6, BLACK.mix(0.35).stroke_width(1)))
        .map_err(chart_error)?
        .label("achieved = target")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.mix(0.35).stroke_width(1)));
    for (i, d) in docs.iter().enumerate() {
        let c = color(i);
        let mut steps: Vec<&Step> = d.steps.iter().collect();
        steps.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        let line: Vec<(f64, f64)> = steps.iter().map(|s| (s.rate, s.achieved_rate)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(chart_error)?
            .label(names[i].clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|p| Circle::new(p, 4, c.filled()))).map_err(chart_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(chart_error)
}
