//! Charts of one or more results, drawn with plotters to SVG or PNG.
//!
//! One picture with three panels: the latency percentile spectrum on HdrHistogram's log
//! scale (x = 1/(1-p), labelled 0%, 90%, 99%, 99.9%, ...; y in ms), the p50 and p99 latency
//! per second, and the achieved (and target) request rate per second. Several results are
//! overlaid in distinct colours, one legend entry per result, for comparison.
//!
//! Stepped runs (`meshperf sweep`, `meshperf search`) get their own picture instead: the
//! latency-throughput curve, corrected p50, p99 and p99.9 against the achieved rate with one
//! point per step on a log latency axis (passed steps as dots, failed ones as crosses), the
//! knee circled and the search's answer as a dashed line; below it, the achieved against the
//! target rate of each step. A stepped result charted with plain results is drawn as a plain
//! result (its top-level step).
//!
//! Text is drawn with a system font found through fontconfig, loaded at run time (plotters'
//! `fontconfig-dlopen`, so building needs no fontconfig headers); the machine needs a font and
//! libfontconfig installed: Debian's `fonts-dejavu-core` and `fontconfig` are enough.

mod curve;
mod spectrum;
mod timeline;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::SmpError;
use crate::result::ResultDocument;

/// The picture's size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for Size {
    fn default() -> Self {
        Size { width: 1400, height: 1000 }
    }
}

/// Colours for successive results (Tableau 10, readable on white and for most colour-blind eyes).
pub(crate) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The colour of the `i`-th result.
pub(crate) fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// Legend names: each result's name, made unique with its start time when names repeat.
pub(crate) fn names(docs: &[ResultDocument]) -> Vec<String> {
    docs.iter()
        .enumerate()
        .map(|(i, d)| {
            let name = if d.name().is_empty() { format!("result {}", i + 1) } else { d.name().to_string() };
            if docs.iter().filter(|o| o.name() == d.name()).count() > 1 {
                format!("{name} @ {}", d.start_time.format("%Y-%m-%d %H:%M:%S"))
            } else {
                name
            }
        })
        .collect()
}

/// Renders the chart to `path`; the extension picks the format (`.svg` or `.png`).
pub fn render(docs: &[ResultDocument], path: &Path, size: Size) -> Result<(), SmpError> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => {
            let svg = render_svg(docs, size)?;
            std::fs::write(path, svg).map_err(|e| SmpError::write(path, e))
        }
        Some("png") => {
            check(docs)?;
            let root = BitMapBackend::new(path, (size.width, size.height)).into_drawing_area();
            draw(&root, docs)?;
            root.present().map_err(|e| SmpError::Chart(format!("cannot write {}: {e}", path.display())))
        }
        _ => Err(SmpError::field("--chart", format!("{}: name the file .svg or .png", path.display()))),
    }
}

/// Renders the chart as SVG text.
pub fn render_svg(docs: &[ResultDocument], size: Size) -> Result<String, SmpError> {
    check(docs)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (size.width, size.height)).into_drawing_area();
        draw(&root, docs)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn check(docs: &[ResultDocument]) -> Result<(), SmpError> {
    if docs.is_empty() {
        return Err(SmpError::field("results", "give at least one result to chart"));
    }
    Ok(())
}

pub(crate) fn chart_error<E: std::fmt::Display>(e: E) -> SmpError {
    SmpError::Chart(e.to_string())
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, docs: &[ResultDocument]) -> Result<(), SmpError> {
    root.fill(&WHITE).map_err(chart_error)?;
    if docs.iter().all(|d| d.details.stepped.is_some()) {
        return curve::draw(root, docs, &names(docs));
    }
    let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 * 52 / 100);
    let (left, right) = bottom.split_horizontally(root.dim_in_pixel().0 / 2);
    let names = names(docs);
    spectrum::draw(&top, docs, &names)?;
    timeline::latency(&left, docs, &names)?;
    timeline::throughput(&right, docs, &names)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::RunMeta;
    use crate::testutil;

    fn docs() -> Vec<ResultDocument> {
        let a = ResultDocument::from_report(&testutil::report(), &RunMeta::new("baseline"));
        let b = ResultDocument::from_report(
            &testutil::report_with((1..=1000).map(|v| v * 3 / 2), 10_000),
            &RunMeta::new("candidate"),
        );
        vec![a, b]
    }

    #[test]
    fn svg_has_axes_legends_and_lines() {
        let svg = render_svg(&docs(), Size::default()).unwrap();
        for text in [
            "Latency by percentile",
            "99.9%",
            "Latency (ms)",
            "Requests per second",
            "baseline",
            "candidate",
            "Time (s)",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        assert!(svg.matches("<polyline").count() >= 6);
        assert!((20_000..2_000_000).contains(&svg.len()), "{} bytes", svg.len());
    }

    #[test]
    fn png_and_svg_files_of_sane_size() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["chart.png", "chart.svg"] {
            let path = dir.path().join(name);
            render(&docs(), &path, Size::default()).unwrap();
            let len = std::fs::metadata(&path).unwrap().len();
            assert!((10_000..5_000_000).contains(&len), "{name}: {len} bytes");
        }
        let err = render(&docs(), &dir.path().join("chart.gif"), Size::default()).unwrap_err();
        assert!(err.to_string().contains("name the file .svg or .png"));
        assert!(render_svg(&[], Size::default()).is_err());
    }

    #[test]
    fn repeated_names_are_told_apart() {
        let a = ResultDocument::from_report(&testutil::report(), &RunMeta::new("x"));
        let n = names(&[a.clone(), a]);
        assert_eq!(n[0], "x @ 2026-03-17 14:53:05");
        assert_eq!(n.len(), 2);
    }
}
