//! The spike guard's cold path: judging a candidate (against the window, or against its neighbours
//! early in the run), and keeping spikes as episodes, one diagnosis each.

use serde::{Deserialize, Serialize};

use super::measure::{small_sample_bar, Scaled};
use super::{SpikeGuard, EPISODE_GAP, ESCALATION, LOG_K};
use crate::analysis::trend::RollingStats;
use crate::context::Context;
use crate::diagnosis::{Diagnosis, Episode, Severity};

/// The last (up to three) values admitted, newest last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Neighbours {
    values: [f64; 3],
    len: u8,
}

impl Neighbours {
    /// Keeps `value` as the newest, dropping the oldest past three.
    #[inline(always)]
    pub(super) fn push(&mut self, value: f64) {
        self.values = [self.values[1], self.values[2], value];
        self.len = (self.len + 1).min(3);
    }

    fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// The largest value held (NaN when empty).
    fn max(&self) -> f64 {
        self.values[3 - self.len()..]
            .iter()
            .copied()
            .fold(f64::NAN, f64::max)
    }

    pub(super) fn clear(&mut self) {
        *self = Neighbours::default();
    }
}

/// An early candidate, judged when the value after it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Pending {
    step: u64,
    value: f64,
}

/// A spike episode: the spikes closer than [`EPISODE_GAP`] of the run to each other.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SpikeEpisode {
    extent: Episode,
    /// The largest spike's value and its ratio to the level then.
    peak: f64,
    peak_ratio: f64,
    /// The level (window mean, or the largest neighbour) behind the largest spike.
    peak_level: f64,
    /// The z-score of the largest spike, where a window gave one.
    #[serde(default)]
    peak_z: Option<f64>,
    /// The learning-rate cut asked for when the episode opened (before, after), if one was.
    #[serde(default)]
    pub(super) lr_cut: Option<(f64, f64)>,
    severity: Severity,
}

/// What a spike was measured against.
#[derive(Clone, Copy)]
pub(super) struct Measure {
    step: u64,
    value: f64,
    /// The typical level: the line through the latest values, or early on the largest neighbour.
    level: f64,
    /// `(value − mean) / std` where a window was there to give one.
    z: Option<f64>,
    /// Whether it was judged against its neighbours (early in the run).
    early: bool,
}

impl Measure {
    fn ratio(&self) -> f64 {
        if self.level > 0.0 {
            self.value / self.level
        } else {
            f64::INFINITY
        }
    }
}

impl SpikeGuard {
    /// A value past the cheap filter of the hot path: a spike if it stands far above the current
    /// level on both scales and clears the magnitude floor (then handled and `true`); otherwise
    /// `false` and the caller admits it as ordinary. See [`measure`](super::measure).
    #[cold]
    #[inline(never)]
    pub(super) fn candidate(&mut self, ctx: &mut Context<'_>, value: f64) -> bool {
        let Some((level, z)) = self.standing_filled(value) else {
            return false;
        };
        let m = Measure {
            step: ctx.step(),
            value,
            level,
            z: Some(z),
            early: false,
        };
        self.spike(ctx, m);
        true
    }

    /// The level and z-score of a spike `value` against the filled window; `None` if not a spike.
    fn standing_filled(&mut self, value: f64) -> Option<(f64, f64)> {
        let w = &self.state.window;
        let n = w.len();
        let linear = Scaled::new(w.values(), n, false)?;
        // Cheapest first: the level (a pass over 16 values), the floor, then the noise (a pass
        // over the window), then the log scale (logs of the window) for what is left.
        let level = linear.level();
        if value - level < (self.min_ratio - 1.0) * level.abs() {
            return None;
        }
        let z = linear.standing_at(value, level, &mut self.scratch).z;
        let beyond_noise =
            z > small_sample_bar(self.k, n) && extreme_on_log_scale(w, value, &mut self.scratch);
        beyond_noise.then_some((level, z))
    }

    /// Early in the run (the window below `min_fill`): judges the waiting candidate now that the
    /// value after it has come, then holds `value` as the next candidate (or admits it).
    #[cold]
    #[inline(never)]
    pub(super) fn observe_early(&mut self, ctx: &mut Context<'_>, value: f64) {
        if let Some(p) = self.state.pending.take() {
            match self.early_measure(p, value) {
                Some(m) => self.spike(ctx, m),
                None => self.admit(p.value),
            }
        }
        if self.state.window.len() >= self.min_fill {
            self.observe_filled(ctx, value);
        } else if self.state.recent.len() >= 2 {
            self.state.pending = Some(Pending {
                step: ctx.step(),
                value,
            });
        } else {
            self.admit(value);
        }
    }

    /// Whether the early candidate `p` is a spike, given the value after it.
    fn early_measure(&mut self, p: Pending, next: f64) -> Option<Measure> {
        let neighbour = self.state.recent.max().max(next);
        if neighbour.is_nan() || neighbour <= 0.0 || p.value < self.min_ratio * neighbour {
            return None;
        }
        // With under four values in the window there is no noise to measure: twice the floor
        // against every neighbour is a spike on magnitude alone. From four values on, the noise
        // must say so, with a bar for how little a few values say about it.
        let w = &self.state.window;
        let z = match Scaled::new(w.values(), w.len(), false) {
            Some(linear) => {
                let z = linear.standing(p.value, &mut self.scratch).z;
                if z <= small_sample_bar(self.k, w.len())
                    || !extreme_on_log_scale(w, p.value, &mut self.scratch)
                {
                    return None;
                }
                Some(z)
            }
            None if p.value < 2.0 * self.min_ratio * neighbour => return None,
            None => None,
        };
        Some(Measure {
            step: p.step,
            value: p.value,
            level: neighbour,
            z,
            early: true,
        })
    }

    /// Counts a spike and opens, grows or escalates its episode.
    fn spike(&mut self, ctx: &mut Context<'_>, m: Measure) {
        let s = &mut self.state;
        s.counts.spikes += 1;
        s.counts.last_spike_step = Some(m.step);
        s.run += 1;
        if s.run >= self.min_fill {
            // The metric has moved to a new level: learn it afresh.
            s.window.clear();
            s.recent.clear();
            s.run = 0;
        }
        let ratio = m.ratio();
        let gap = (EPISODE_GAP * m.step as f64).max(1.0) as u64;
        match s.episode {
            Some(mut e) if m.step.saturating_sub(e.extent.end_step) <= gap => {
                e.extent.end_step = m.step.max(e.extent.end_step);
                e.extent.count = e.extent.count.saturating_add(1);
                if ratio > e.peak_ratio {
                    (e.peak, e.peak_ratio, e.peak_level) = (m.value, ratio, m.level);
                    e.peak_z = m.z;
                    e.extent.peak_step = m.step;
                }
                if e.severity == Severity::Info && ratio > ESCALATION * s.warned_ratio {
                    e.severity = Severity::Warning;
                    s.warned_ratio = ratio;
                }
                s.episode = Some(e);
                let d = self.diagnosis(&e, m);
                ctx.revise(d);
            }
            _ => {
                let severity = if s.warned_ratio == 0.0 || ratio > ESCALATION * s.warned_ratio {
                    s.warned_ratio = s.warned_ratio.max(ratio);
                    Severity::Warning
                } else {
                    Severity::Info
                };
                let e = SpikeEpisode {
                    extent: Episode::at(m.step),
                    peak: m.value,
                    peak_ratio: ratio,
                    peak_level: m.level,
                    peak_z: m.z,
                    lr_cut: None,
                    severity,
                };
                s.episode = Some(e);
                s.counts.episodes += 1;
                let d = self.diagnosis(&e, m);
                let rule = self.spike_rule();
                self.act(ctx, self.on_spike, d, rule);
            }
        }
    }

    /// The diagnosis of episode `e`, whose latest spike is `m`.
    fn diagnosis(&self, e: &SpikeEpisode, m: Measure) -> Diagnosis {
        let x = e.extent;
        let against = if m.early {
            "the largest of its neighbours"
        } else {
            "the level of the latest values"
        };
        let mut message = format!(
            "{} spiked to {:.4} at step {}, {:.1}x its typical level {:.4} ({against})",
            self.label, e.peak, x.peak_step, e.peak_ratio, e.peak_level
        );
        if let Some(z) = e.peak_z {
            message.push_str(&format!(", z = {z:.1}"));
        }
        if x.count > 1 {
            message.push_str(&format!(
                "; {} spikes between steps {} and {}",
                x.count, x.start_step, x.end_step
            ));
        }
        let mut d = Diagnosis::new(self.kind, e.severity, message)
            .with_metric(self.label.clone())
            .with_value(e.peak)
            .with_threshold(self.min_ratio * e.peak_level)
            .with_evidence("value", e.peak)
            .with_evidence("level", e.peak_level)
            .with_evidence("ratio", e.peak_ratio)
            .with_evidence("min_ratio", self.min_ratio)
            .with_evidence("k", self.k)
            .with_evidence("spikes", f64::from(x.count))
            .with_episode(x)
            .with_recommendation(self.spike_advice(x.count));
        if let Some(z) = e.peak_z {
            d = d.with_evidence("z_score", z);
        }
        if let Some((before, after)) = e.lr_cut {
            d = d
                .with_evidence("lr_before", before)
                .with_evidence("lr_after", after);
            d.message
                .push_str(&format!("; learning rate cut {before:.3e} -> {after:.3e}"));
        }
        d
    }
}

/// Whether `value` also stands [`LOG_K`] (raised for a short window) noise deviations above the
/// level of `window` on the log scale; a window with a value ≤ 0 has no log scale and passes.
fn extreme_on_log_scale(window: &RollingStats, value: f64, scratch: &mut Vec<f64>) -> bool {
    match Scaled::new(window.values(), window.len(), true) {
        Some(_) if value <= 0.0 => false,
        Some(log) => log.standing(value, scratch).z > small_sample_bar(LOG_K, window.len()),
        None => true,
    }
}
