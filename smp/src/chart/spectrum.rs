//! The percentile spectrum panel: latency against 1/(1-p) on a log scale.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart_error, color};
use crate::error::SmpError;
use crate::result::ResultDocument;

/// x position of percentile `p` (0..100): log10(1/(1-p/100)), so 90% → 1, 99% → 2, 99.9% → 3.
pub(crate) fn x_of(p: f64) -> f64 {
    -(1.0 - p / 100.0).log10()
}

/// The label at x = k: `0%`, `90%`, `99%`, `99.9%`, `99.99%`...
pub(crate) fn label(x: f64) -> String {
    let k = x.round() as i32;
    if (x - f64::from(k)).abs() > 1e-6 || k < 0 {
        return String::new();
    }
    if k == 0 {
        return "0%".into();
    }
    let p = 100.0 * (1.0 - 10f64.powi(-k));
    format!("{}%", (p * 1e6).round() / 1e6)
}

pub(super) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    docs: &[ResultDocument],
    names: &[String],
) -> Result<(), SmpError> {
    let series: Vec<Vec<(f64, f64)>> = docs
        .iter()
        .map(|d| {
            d.details
                .spectrum
                .latency_ms
                .iter()
                .filter(|p| p.percentile < 100.0)
                .map(|p| (x_of(p.percentile), p.value))
                .collect()
        })
        .collect();
    let x_max = series.iter().flatten().map(|(x, _)| *x).fold(2.0f64, f64::max).ceil();
    let y_max = series.iter().flatten().map(|(_, y)| *y).fold(0.0f64, f64::max).max(0.001) * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption("Latency by percentile (HdrHistogram spectrum)", ("sans-serif", 26))
        .margin(16)
        .margin_right(48)
        .x_label_area_size(48)
        .y_label_area_size(86)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| label(*x))
        .x_desc("Percentile (log scale of 1/(1-p))")
        .y_desc("Latency (ms)")
        .y_label_formatter(&|y| trim(*y))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(chart_error)?;
    for (i, points) in series.into_iter().enumerate() {
        let c = color(i);
        let d = &docs[i].details.latency_ms;
        let legend = format!(
            "{}  (p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms)",
            names[i],
            trim(d.p50),
            trim(d.p99),
            trim(d.p99_9),
            trim(d.max)
        );
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(3)))
            .map_err(chart_error)?
            .label(legend)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// A number without needless digits: 990.207 → "990.2", 0.0123 → "0.0123", 1500 → "1500".
pub(crate) fn trim(v: f64) -> String {
    let digits = if v >= 100.0 {
        1
    } else if v >= 1.0 {
        2
    } else {
        4
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scale_positions_and_labels() {
        assert_eq!(x_of(0.0), 0.0);
        assert!((x_of(90.0) - 1.0).abs() < 1e-9);
        assert!((x_of(99.9) - 3.0).abs() < 1e-9);
        let labels: Vec<String> = (0..6).map(|k| label(f64::from(k))).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        assert_eq!(label(1.5), "");
        assert_eq!(trim(990.207), "990.2");
        assert_eq!(trim(12.5), "12.5");
        assert_eq!(trim(0.01234), "0.0123");
        assert_eq!(trim(1500.0), "1500");
    }
}
