//! Ceilings on what one run may ask for, written once for every door: the peak rate of any
//! shape, connections (closed loop, which has no rate to bound, has a connection ceiling of its
//! own), the measured window, and the whole wall time of a run, which the registry's watchdog
//! enforces so no run outlives it.

use std::time::Duration;

use loadgen::{Load, RunPlan};

use super::RuleNames;
use crate::error::ServiceError;

/// Ceilings on one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceilings {
    /// Highest rate a run may reach, requests per second (this machine's share of a
    /// distributed run).
    pub max_rate: f64,
    /// Most connections.
    pub max_connections: u32,
    /// Most connections of a closed-loop run (which sends as fast as its connections allow);
    /// 0 refuses closed loop.
    pub max_closed_loop_connections: u32,
    /// Longest warm-up plus measured window.
    pub max_duration: Duration,
    /// Longest a run may take from its start to its end, connecting and draining included.
    pub max_wall_time: Duration,
}

impl Default for Ceilings {
    fn default() -> Self {
        Ceilings {
            max_rate: 100_000.0,
            max_connections: 1_000,
            max_closed_loop_connections: 64,
            max_duration: Duration::from_secs(600),
            max_wall_time: Duration::from_secs(660),
        }
    }
}

impl Ceilings {
    /// Checks `plan` and returns its wall-time limit: the plan's own bound when it has one,
    /// never more than [`max_wall_time`](Self::max_wall_time).
    pub fn check(&self, plan: &RunPlan, names: &RuleNames) -> Result<Duration, ServiceError> {
        let refuse = |rule: &'static str, detail: String| ServiceError::Refused { rule, detail };
        if plan.connections > self.max_connections {
            return Err(refuse(
                names.connections,
                format!("{} connections exceed the ceiling of {}", plan.connections, self.max_connections),
            ));
        }
        match &plan.load {
            Load::Open(shape) => {
                let share = shape.peak() / f64::from(plan.shard.count.max(1));
                if share > self.max_rate {
                    return Err(refuse(
                        names.rate,
                        format!(
                            "a peak rate of {share:.0} requests per second exceeds the ceiling of {:.0}",
                            self.max_rate
                        ),
                    ));
                }
            }
            Load::Closed if plan.connections > self.max_closed_loop_connections => {
                let detail = if self.max_closed_loop_connections == 0 {
                    "closed-loop runs (no rate: as fast as the connections allow) are not allowed; give a rate"
                        .to_string()
                } else {
                    format!(
                        "a closed-loop run (no rate: as fast as the connections allow) with {} connections exceeds \
                         the ceiling of {}; give a rate or use fewer connections",
                        plan.connections, self.max_closed_loop_connections
                    )
                };
                return Err(refuse(names.closed_loop, detail));
            }
            Load::Closed => {}
        }
        if let Some(measured) = plan.measured_duration() {
            let total = measured + plan.warmup;
            if total > self.max_duration {
                return Err(refuse(
                    names.duration,
                    format!(
                        "a warm-up and duration of {} exceed the ceiling of {}",
                        humantime::format_duration(total),
                        humantime::format_duration(self.max_duration)
                    ),
                ));
            }
        } else if plan.warmup >= self.max_duration {
            return Err(refuse(
                names.duration,
                format!(
                    "a warm-up of {} leaves no time within the ceiling of {}",
                    humantime::format_duration(plan.warmup),
                    humantime::format_duration(self.max_duration)
                ),
            ));
        }
        Ok(plan.wall_time_bound().map_or(self.max_wall_time, |b| b.min(self.max_wall_time)))
    }
}

#[cfg(test)]
mod tests {
    use loadgen::{RateShape, Stage, Target};

    use super::*;
    use crate::policy::SERVER_RULES;

    fn plan(load: Load, connections: u32) -> RunPlan {
        let mut p = RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]);
        p.load = load;
        p.connections = connections;
        p.duration = Some(Duration::from_secs(10));
        p
    }

    fn rule(c: &Ceilings, p: &RunPlan) -> Option<&'static str> {
        match c.check(p, &SERVER_RULES) {
            Ok(_) => None,
            Err(ServiceError::Refused { rule, .. }) => Some(rule),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn every_shape_is_bounded_by_its_peak() {
        let c = Ceilings { max_rate: 100.0, ..Ceilings::default() };
        let open = |shape| plan(Load::Open(shape), 10);
        assert_eq!(rule(&c, &open(RateShape::Constant(100.0))), None);
        assert_eq!(rule(&c, &open(RateShape::Constant(101.0))), Some("MESHPERF_MAX_QPS"));
        assert_eq!(rule(&c, &open(RateShape::Ramp { from: 1.0, to: 500.0 })), Some("MESHPERF_MAX_QPS"));
        let stages = vec![
            Stage { duration: Duration::from_secs(1), rate: 10.0 },
            Stage { duration: Duration::from_secs(1), rate: 1000.0 },
        ];
        assert_eq!(rule(&c, &open(RateShape::Stages(stages))), Some("MESHPERF_MAX_QPS"));
        let mut shard = open(RateShape::Constant(300.0));
        shard.shard = loadgen::Shard { index: 0, count: 3 };
        assert_eq!(rule(&c, &shard), None, "a shard is judged on its share");
    }

    #[test]
    fn closed_loop_has_its_own_ceiling() {
        let c = Ceilings { max_closed_loop_connections: 8, ..Ceilings::default() };
        assert_eq!(rule(&c, &plan(Load::Closed, 8)), None);
        assert_eq!(rule(&c, &plan(Load::Closed, 9)), Some("MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS"));
        let none = Ceilings { max_closed_loop_connections: 0, ..c };
        assert_eq!(rule(&none, &plan(Load::Closed, 1)), Some("MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS"));
        assert_eq!(rule(&c, &plan(Load::Closed, 2000)), Some("MESHPERF_MAX_CONNECTIONS"));
    }

    #[test]
    fn durations_and_the_wall_time() {
        let c = Ceilings {
            max_duration: Duration::from_secs(10),
            max_wall_time: Duration::from_secs(15),
            ..Ceilings::default()
        };
        let mut p = plan(Load::Open(RateShape::Constant(1.0)), 1);
        p.timeout = Duration::from_secs(1);
        let limit = c.check(&p, &SERVER_RULES).unwrap();
        assert!(limit > Duration::from_secs(11) && limit < Duration::from_secs(15), "{limit:?}");
        p.timeout = Duration::from_secs(3600);
        assert_eq!(c.check(&p, &SERVER_RULES).unwrap(), Duration::from_secs(15), "a long timeout meets the wall");
        p.warmup = Duration::from_secs(1);
        assert_eq!(rule(&c, &p), Some("MESHPERF_MAX_DURATION"));
        p.duration = None;
        p.max_requests = Some(10);
        p.warmup = Duration::ZERO;
        assert_eq!(c.check(&p, &SERVER_RULES).unwrap(), Duration::from_secs(15), "a count-bound run gets the wall");
    }
}
