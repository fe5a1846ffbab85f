//! Latency histograms: HdrHistogram in microseconds, 3 significant digits, 1 µs to 1 h.
//!
//! Recording is O(1) and allocation-free; two histograms merge exactly (bucket counts add), and
//! the V2 compressed encoding in base64 lets histograms cross processes and machines.

use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// Highest trackable value: one hour in microseconds.
pub const MAX_US: u64 = 3_600_000_000;
/// Significant decimal digits kept.
pub const SIGFIG: u8 = 3;

/// Errors decoding a serialised histogram.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// The text is not base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 (compressed) encoding.
    #[error("histogram is not a valid HdrHistogram V2 encoding: {0}")]
    Decode(String),
    /// Merging failed because the other histogram's range is wider.
    #[error("histograms cannot be merged: {0}")]
    Merge(String),
}

/// A latency histogram in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram covering 1 µs to 1 h at 3 significant digits.
    pub fn new() -> Self {
        let inner = Histogram::new_with_bounds(1, MAX_US, SIGFIG).expect("static bounds are valid");
        LatencyHistogram { inner }
    }

    /// Records one value in microseconds; values above one hour are clamped to one hour.
    #[inline]
    pub fn record_us(&mut self, us: u64) {
        self.inner.saturating_record(us.min(MAX_US));
    }

    /// Records `count` occurrences of one value.
    pub fn record_n_us(&mut self, us: u64, count: u64) {
        let _ = self.inner.record_n(us.min(MAX_US), count);
    }

    /// Records a duration (rounded to the nearest microsecond).
    #[inline]
    pub fn record(&mut self, d: Duration) {
        self.record_us(((d.as_nanos() + 500) / 1000) as u64);
    }

    /// Adds every count of `other` to this histogram (an exact merge: each recorded bucket's
    /// count lands in the same bucket). Only recorded buckets are written, so an empty
    /// histogram's untouched pages stay unmapped (`Histogram::add` would copy all ~190 KB).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for v in other.inner.iter_recorded() {
            let _ = self.inner.record_n(v.value_iterated_to(), v.count_at_value());
        }
    }

    /// Empties the histogram, keeping its allocation.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The value at percentile `p` (0..=100), in microseconds; 0 when empty.
    pub fn percentile_us(&self, p: f64) -> u64 {
        if self.inner.is_empty() { 0 } else { self.inner.value_at_percentile(p) }
    }

    /// Lowest recorded value in microseconds (0 when empty).
    pub fn min_us(&self) -> u64 {
        if self.inner.is_empty() { 0 } else { self.inner.min() }
    }

    /// Highest recorded value in microseconds (0 when empty).
    pub fn max_us(&self) -> u64 {
        self.inner.max()
    }

    /// Mean in microseconds (0 when empty).
    pub fn mean_us(&self) -> f64 {
        self.inner.mean()
    }

    /// Standard deviation in microseconds.
    pub fn stdev_us(&self) -> f64 {
        self.inner.stdev()
    }

    /// The recorded buckets as `(highest equivalent value µs, count)`, lowest first, non-empty only.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.inner
            .iter_recorded()
            .map(|v| (self.inner.highest_equivalent(v.value_iterated_to()), v.count_at_value()))
            .collect()
    }

    /// The percentile spectrum, HdrHistogram-style: `ticks` steps per halving of the remaining tail.
    pub fn spectrum(&self, ticks: u32) -> Vec<(f64, u64)> {
        if self.is_empty() {
            return Vec::new();
        }
        self.inner
            .iter_quantiles(ticks)
            .map(|v| (v.quantile_iterated_to() * 100.0, self.inner.highest_equivalent(v.value_iterated_to())))
            .collect()
    }

    /// The histogram in HdrHistogram's V2 compressed encoding, as standard base64.
    pub fn to_base64(&self) -> String {
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&self.inner, &mut buf).expect("writing to a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(buf)
    }

    /// Reads a histogram from [`to_base64`](Self::to_base64)'s format (V2 or V2 compressed).
    pub fn from_base64(text: &str) -> Result<Self, HistogramError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramError::Decode(format!("{e:?}")))?;
        let mut out = Self::new();
        out.inner.add(&decoded).map_err(|e| HistogramError::Merge(format!("{e:?}")))?;
        Ok(out)
    }

    /// The underlying HdrHistogram, for exporters.
    pub fn as_hdr(&self) -> &Histogram<u64> {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_is_zero() {
        let h = LatencyHistogram::new();
        assert_eq!(h.percentile_us(99.0), 0);
        assert_eq!(h.min_us(), 0);
        assert!(h.spectrum(5).is_empty());
    }

    #[test]
    fn clamps_above_an_hour() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_secs(7200));
        assert_eq!(h.len(), 1);
        assert!(h.max_us() >= MAX_US);
    }

    #[test]
    fn base64_round_trip() {
        let mut h = LatencyHistogram::new();
        for v in [1, 10, 100, 1000, 123_456, 3_000_000] {
            h.record_n_us(v, v % 7 + 1);
        }
        let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back, h);
        assert!(LatencyHistogram::from_base64("not base64!").is_err());
        assert!(LatencyHistogram::from_base64("AAAA").is_err());
    }

    proptest! {
        /// Histograms merged from parts equal one histogram fed every value.
        #[test]
        fn merge_is_exact(values in proptest::collection::vec(0u64..MAX_US * 2, 0..400), parts in 1usize..6) {
            let mut whole = LatencyHistogram::new();
            let mut split = vec![LatencyHistogram::new(); parts];
            for (i, v) in values.iter().enumerate() {
                whole.record_us(*v);
                split[i % parts].record_us(*v);
            }
            let mut merged = LatencyHistogram::new();
            for s in &split {
                merged.merge(s);
            }
            prop_assert_eq!(&merged, &whole);
            for p in [50.0, 90.0, 99.0, 99.9, 100.0] {
                prop_assert_eq!(merged.percentile_us(p), whole.percentile_us(p));
            }
        }
    }
}
