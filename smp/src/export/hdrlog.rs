//! HdrHistogram interval logs (the `.hlog` format of HdrHistogram's `HistogramLogWriter`).
//!
//! The log holds the run's three histograms as one interval each, covering the measured window:
//! latency untagged (what `HistogramLogProcessor` reads by default), service time tagged
//! `service_time`, send lag tagged `send_lag`. Histograms are V2 compressed; values are
//! **microseconds** (so pass `-outputValueUnitRatio 1000` to HdrHistogram's
//! `HistogramLogProcessor` for milliseconds); the `Interval_Max` column is in milliseconds
//! (`MaxValueDivisor` 1000). Timestamps are seconds from the `BaseTime`, the window's start.
//! Logs from several runs or workers can be merged by HdrHistogram's tools.

use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::error::SmpError;
use crate::result::ResultDocument;

/// The document's histograms as an HdrHistogram interval log.
pub fn hdr_log(doc: &ResultDocument) -> Result<Vec<u8>, SmpError> {
    let stats = doc.stats()?;
    let start: SystemTime = doc.start_time.into();
    let length = Duration::from_secs_f64(doc.details.duration_s.max(0.0));
    let mut out = Vec::new();
    out.extend_from_slice(
        b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
    );
    let mut serializer = V2DeflateSerializer::new();
    let io = |e: std::io::Error| SmpError::field("hdr-log", format!("cannot write the log: {e}"));
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment("[Histogram log format version 1.3]")
        .add_comment(&format!(
            "[meshperf {} result {} ({}), values in microseconds]",
            doc.details.generator_version,
            doc.id,
            doc.name()
        ))
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1000.0);
    let mut header = Vec::new();
    let mut writer = builder.begin_log_with(&mut header, &mut serializer).map_err(io)?;
    for (hist, tag) in
        [(&stats.latency, None), (&stats.service, Some("service_time")), (&stats.send_lag, Some("send_lag"))]
    {
        writer
            .write_histogram(hist.as_hdr(), Duration::ZERO, length, tag.and_then(Tag::new))
            .map_err(|e| SmpError::field("hdr-log", format!("cannot write the log: {e}")))?;
    }
    drop(writer);
    // Comments and header lines first, then the legend, then the intervals (Java's layout).
    let split = header
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |_| header.split(|b| *b == b'\n').take_while(|l| l.starts_with(b"#")).map(|l| l.len() + 1).sum());
    let mut log = header[..split].to_vec();
    log.append(&mut out);
    log.extend_from_slice(&header[split..]);
    Ok(log)
}

#[cfg(test)]
mod tests {
    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    use super::*;
    use crate::result::tests::sample;

    #[test]
    fn log_reads_back_with_the_same_histograms() {
        let doc = sample();
        let log = hdr_log(&doc).unwrap();
        let text = String::from_utf8(log.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#[Histogram log format version 1.3]");
        assert!(lines.iter().any(|l| l.starts_with("#[StartTime: 1773759185.000")), "{text}");
        assert!(lines.iter().any(|l| l.starts_with("\"StartTimestamp\"")));
        assert!(lines.iter().any(|l| l.starts_with("Tag=service_time,0.000,10.000,500.223,HISTF")), "{text}");
        let stats = doc.stats().unwrap();
        let mut intervals = Vec::new();
        for entry in IntervalLogIterator::new(&log) {
            if let LogEntry::Interval(i) = entry.unwrap() {
                let bytes =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, i.encoded_histogram()).unwrap();
                let h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
                intervals.push((i.tag().map(|t| t.as_str().to_string()), i.duration(), h));
            }
        }
        assert_eq!(intervals.len(), 3);
        assert_eq!(intervals[0].0, None);
        assert_eq!(intervals[0].1, Duration::from_secs(10));
        assert_eq!(&intervals[0].2, stats.latency.as_hdr());
        assert_eq!(intervals[1].0.as_deref(), Some("service_time"));
        assert_eq!(&intervals[1].2, stats.service.as_hdr());
        assert_eq!(&intervals[2].2, stats.send_lag.as_hdr());
    }
}
