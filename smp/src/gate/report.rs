//! Rendering verdicts: a Markdown table for CI job summaries and JUnit XML for test reports.

use std::fmt::Write as _;

use super::Verdict;

/// A Markdown summary: a heading with the overall outcome, then one table row per verdict
/// (metric, threshold or baseline, value, verdict). `title` names the run or comparison.
pub fn markdown_summary(title: &str, verdicts: &[Verdict]) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    let outcome = if failed == 0 {
        format!("✅ all {} checks passed", verdicts.len())
    } else {
        format!("❌ {failed} of {} checks failed", verdicts.len())
    };
    let mut out = format!("### meshperf: {} — {outcome}\n\n", cell(title));
    out.push_str("| Gate | Metric | Threshold / baseline | Value | Verdict |\n|---|---|---|---|---|\n");
    for v in verdicts {
        let verdict = if v.passed { "✅ pass" } else { "❌ fail" };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {verdict} |",
            v.gate.replace('`', "'"),
            cell(&v.metric),
            cell(&v.expected),
            cell(&v.actual)
        );
    }
    out
}

/// Escapes what would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// JUnit XML with one test case per verdict (a failed gate is a `<failure>`), in a suite named
/// after `title`; `time_s` is the run's duration.
pub fn junit_xml(title: &str, verdicts: &[Verdict], time_s: f64) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    let n = verdicts.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"meshperf\" tests=\"{n}\" failures=\"{failed}\" errors=\"0\" time=\"{time_s:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"{time_s:.3}\">",
        xml(&format!("meshperf gates: {title}"))
    );
    for v in verdicts {
        let _ = write!(out, "    <testcase classname=\"meshperf.gates\" name=\"{}\" time=\"0\"", xml(&v.gate));
        if v.passed {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}: {} (wanted {})</system-out>\n    </testcase>",
                xml(&v.metric),
                xml(&v.actual),
                xml(&v.expected)
            );
        } else {
            let message = format!("{} is {}, wanted {}", v.metric, v.actual, v.expected);
            let _ = writeln!(
                out,
                ">\n      <failure type=\"gate\" message=\"{}\">{}</failure>\n    </testcase>",
                xml(&message),
                xml(&message)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escapes text for XML attributes and content (control characters are dropped).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}
