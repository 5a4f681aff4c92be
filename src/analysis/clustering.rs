//! Grouping learning curves by shape: per-curve features, z-scored, clustered by k-means++.
//!
//! Each curve is reduced to [`CurveFeatures`] (final value, improvement, stability, convergence speed,
//! and their scale-free variants); the chosen [`FeatureSet`] is z-scored across curves and clustered by
//! k-means++ with several restarts from a fixed seed, so the same input always gives the same output.
//! When no `k` is given, the `k` in `2..=min(8, n - 1)` with the highest mean silhouette wins.

mod features;
mod kmeans;
mod result;

use std::num::NonZeroUsize;

use super::multi_run::Curve;
pub use features::{CurveFeatures, FeatureSet, CONVERGENCE_BAND, STABILITY_TAIL};
use kmeans::SplitMix64;
pub use result::{ClusterSummary, Clustering, KScore};

/// The largest `k` tried when choosing it by silhouette.
pub const MAX_AUTO_K: usize = 8;

/// How [`cluster_curves`] works.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterOptions {
    k: Option<usize>,
    features: FeatureSet,
    seed: u64,
    restarts: NonZeroUsize,
    max_iterations: NonZeroUsize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            k: None,
            features: FeatureSet::All,
            seed: 0x6375_7276_6577_6174,
            restarts: NonZeroUsize::new(10).unwrap_or(NonZeroUsize::MIN),
            max_iterations: NonZeroUsize::new(100).unwrap_or(NonZeroUsize::MIN),
        }
    }
}

impl ClusterOptions {
    /// `k` chosen by silhouette, all features, a fixed seed, 10 restarts, at most 100 iterations each.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for exactly `k` clusters (checked by [`cluster_curves`]: `1 <= k <= n`).
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = Some(k);
        self
    }

    /// Clusters on the features of `set`.
    pub fn with_features(mut self, set: FeatureSet) -> Self {
        self.features = set;
        self
    }

    /// Seeds the generator behind k-means++ (same seed, same input: same result).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Runs k-means++ this many times per `k`, keeping the fit of lowest inertia.
    pub fn with_restarts(mut self, restarts: NonZeroUsize) -> Self {
        self.restarts = restarts;
        self
    }

    /// Caps the Lloyd iterations of each run.
    pub fn with_max_iterations(mut self, max_iterations: NonZeroUsize) -> Self {
        self.max_iterations = max_iterations;
        self
    }
}

/// Why curves could not be clustered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// Fewer than two curves were given.
    #[error("clustering needs at least 2 curves, got {count}")]
    TooFewCurves {
        /// How many were given.
        count: usize,
    },
    /// The `k` asked for was 0 or more than the number of curves.
    #[error("cannot make {k} clusters of {curves} curves (need 1 <= k <= {curves})")]
    InvalidK {
        /// The `k` asked for.
        k: usize,
        /// How many curves there are.
        curves: usize,
    },
    /// A curve's step and value columns differ in length.
    #[error("curve `{name}` has {steps} steps but {values} values")]
    LengthMismatch {
        /// The curve's name.
        name: String,
        /// Its number of steps.
        steps: usize,
        /// Its number of values.
        values: usize,
    },
    /// Some curves have no finite value to compute features from.
    #[error("curves with no finite values: {}", .names.join(", "))]
    NoFiniteValues {
        /// Their names, in input order.
        names: Vec<String>,
    },
}

/// Clusters `curves` by the shape of their values (steps are not used beyond checking lengths).
///
/// With no `k` in `options`, tries every `k` in `2..=min(8, n - 1)` and keeps the highest mean
/// silhouette (the smallest `k` on ties); with two curves that range is empty and both go into one
/// cluster (`k = 1`, silhouette NaN). Errors: fewer than 2 curves, `k` of 0 or above `n`, mismatched
/// columns, curves without a finite value (all named).
///
/// ```
/// use curvewatch::analysis::clustering::{cluster_curves, ClusterOptions};
/// use curvewatch::analysis::multi_run::Curve;
///
/// let curve = |name: &str, floor: f64, speed: f64| {
///     let steps: Vec<f64> = (0..50).map(f64::from).collect();
///     let values = steps.iter().map(|t| floor + (-t / speed).exp()).collect();
///     Curve::new(name, steps, values)
/// };
/// let curves = [
///     curve("fast-1", 0.10, 3.0), curve("fast-2", 0.12, 3.5), curve("fast-3", 0.11, 3.2),
///     curve("slow-1", 1.50, 30.0), curve("slow-2", 1.45, 28.0), curve("slow-3", 1.55, 32.0),
/// ];
/// let result = cluster_curves(&curves, &ClusterOptions::new()).unwrap();
/// assert_eq!(result.k, 2);
/// assert_eq!(result.assignments, vec![0, 0, 0, 1, 1, 1]);
/// ```
pub fn cluster_curves(
    curves: &[Curve],
    options: &ClusterOptions,
) -> Result<Clustering, ClusterError> {
    let features = validated_features(curves, options.k)?;
    let mut points: Vec<Vec<f64>> = features
        .iter()
        .map(|f| options.features.vector(f))
        .collect();
    features::standardise(&mut points);
    let candidates: Vec<usize> = match options.k {
        Some(k) => vec![k],
        None => (2..=MAX_AUTO_K.min(curves.len() - 1)).collect(),
    };
    let mut best: Option<(KScore, Vec<usize>)> = None;
    let mut scores = Vec::with_capacity(candidates.len());
    for k in candidates {
        let (score, assign) = fit_k(&points, k, options);
        if best
            .as_ref()
            .is_none_or(|(b, _)| score.silhouette > b.silhouette)
        {
            best = Some((score.clone(), assign));
        }
        scores.push(score);
    }
    let (score, assign) = best.unwrap_or_else(|| fit_k(&points, 1, options));
    if scores.is_empty() {
        scores.push(score.clone());
    }
    Ok(Clustering {
        k: score.k,
        silhouette: score.silhouette,
        inertia: score.inertia,
        feature_set: options.features,
        clusters: result::summarise(&features, &assign, score.k),
        assignments: assign,
        features,
        candidates: scores,
    })
}

fn validated_features(
    curves: &[Curve],
    k: Option<usize>,
) -> Result<Vec<CurveFeatures>, ClusterError> {
    let n = curves.len();
    if n < 2 {
        return Err(ClusterError::TooFewCurves { count: n });
    }
    if let Some(k) = k.filter(|&k| k == 0 || k > n) {
        return Err(ClusterError::InvalidK { k, curves: n });
    }
    if let Some(c) = curves.iter().find(|c| c.steps.len() != c.values.len()) {
        return Err(ClusterError::LengthMismatch {
            name: c.name.clone(),
            steps: c.steps.len(),
            values: c.values.len(),
        });
    }
    let features: Vec<Option<CurveFeatures>> = curves
        .iter()
        .map(|c| CurveFeatures::from_values(c.name.clone(), &c.values))
        .collect();
    let names: Vec<String> = curves
        .iter()
        .zip(&features)
        .filter(|(_, f)| f.is_none())
        .map(|(c, _)| c.name.clone())
        .collect();
    if !names.is_empty() {
        return Err(ClusterError::NoFiniteValues { names });
    }
    Ok(features.into_iter().flatten().collect())
}

/// The best of `options.restarts` k-means++ fits for `k`, with its score; each `k` gets its own
/// generator seeded from the options, so a candidate's result does not depend on the others tried.
fn fit_k(points: &[Vec<f64>], k: usize, options: &ClusterOptions) -> (KScore, Vec<usize>) {
    let mut rng = SplitMix64::new(options.seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let restarts = options.restarts.get();
    let fit = kmeans::kmeans(points, k, &mut rng, restarts, options.max_iterations.get());
    let score = KScore {
        k,
        silhouette: kmeans::silhouette(points, &fit.assign, k),
        inertia: fit.inertia,
    };
    (score, fit.assign)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `floor + amp * exp(-t / tau)` over 100 steps, with a small deterministic wobble.
    fn decay(name: &str, floor: f64, amp: f64, tau: f64, wobble: f64) -> Curve {
        let steps: Vec<f64> = (0..100).map(f64::from).collect();
        let values = steps
            .iter()
            .map(|t| floor + amp * (-t / tau).exp() + 0.003 * (7.0 * t + wobble).sin())
            .collect();
        Curve::new(name, steps, values)
    }

    /// Fast-converging low-loss and slow high-loss curves, interleaved.
    fn two_families() -> Vec<Curve> {
        (0..5)
            .flat_map(|i| {
                let x = i as f64;
                [
                    decay(&format!("fast-{i}"), 0.1 + 0.01 * x, 2.0, 3.0 + 0.3 * x, x),
                    decay(
                        &format!("slow-{i}"),
                        1.5 + 0.02 * x,
                        1.0,
                        40.0 + 2.0 * x,
                        -x,
                    ),
                ]
            })
            .collect()
    }

    #[test]
    fn separated_families_give_k_2_by_silhouette() {
        let curves = two_families();
        for set in [FeatureSet::All, FeatureSet::Article, FeatureSet::ScaleFree] {
            let got = cluster_curves(&curves, &ClusterOptions::new().with_features(set)).unwrap();
            assert_eq!(got.k, 2, "{set:?}: {:?}", got.candidates);
            assert_eq!(got.assignments, [0, 1].repeat(5), "{set:?}: fast 0, slow 1");
            let ks: Vec<usize> = got.candidates.iter().map(|c| c.k).collect();
            assert_eq!(
                ks,
                (2..=8).collect::<Vec<_>>(),
                "10 curves: k in 2..=min(8, 9)"
            );
            assert!(got.candidates[1..]
                .iter()
                .all(|c| c.silhouette < got.silhouette));
            assert!(
                got.silhouette > 0.7,
                "{set:?}: well separated: {}",
                got.silhouette
            );
        }
        let got = cluster_curves(&curves, &ClusterOptions::new()).unwrap();
        let fast = &got.clusters[0];
        assert_eq!(
            fast.names,
            ["fast-0", "fast-1", "fast-2", "fast-3", "fast-4"]
        );
        assert_eq!(fast.members, [0, 2, 4, 6, 8]);
        let mean_final = got
            .features
            .iter()
            .step_by(2)
            .map(|f| f.final_value)
            .sum::<f64>()
            / 5.0;
        assert_eq!((fast.count, fast.mean_final), (5, mean_final));
        // The fast curves end near floor 0.1..0.14 (mean 0.12); the slow ones about 1.54 + e^-2.3.
        assert!((fast.mean_final - 0.12).abs() < 0.01, "{}", fast.mean_final);
        assert!(got.clusters[1].mean_final > 1.5 && got.clusters[1].mean_improvement < 1.0);
    }

    #[test]
    fn same_input_same_output() {
        let curves = two_families();
        let opts = ClusterOptions::new().with_k(3);
        let a = cluster_curves(&curves, &opts).unwrap();
        let b = cluster_curves(&curves, &opts).unwrap();
        assert_eq!(a, b, "fixed seed: identical results");
        let auto = ClusterOptions::new();
        assert_eq!(
            cluster_curves(&curves, &auto),
            cluster_curves(&curves, &auto)
        );
        let other = cluster_curves(&curves, &auto.with_seed(99)).unwrap();
        assert_eq!(
            other.assignments,
            [0, 1].repeat(5),
            "a clear split does not hang on the seed"
        );
    }

    #[test]
    fn constant_features_do_not_produce_nan() {
        // Flat lines: improvement, stability, convergence are 0 for all; only the level differs.
        let flat = |name: &str, level: f64| Curve::new(name, vec![0.0, 1.0, 2.0], vec![level; 3]);
        let curves = [
            flat("a", 1.0),
            flat("b", 1.1),
            flat("c", 5.0),
            flat("d", 5.2),
        ];
        let got = cluster_curves(&curves, &ClusterOptions::new()).unwrap();
        assert_eq!((got.k, got.assignments.clone()), (2, vec![0, 0, 1, 1]));
        assert!(got.silhouette.is_finite() && got.inertia.is_finite());
        // Identical curves: every feature constant, every silhouette 0; the smallest k wins.
        let same = [
            flat("a", 2.0),
            flat("b", 2.0),
            flat("c", 2.0),
            flat("d", 2.0),
        ];
        let got = cluster_curves(&same, &ClusterOptions::new()).unwrap();
        assert_eq!((got.k, got.silhouette, got.inertia), (2, 0.0, 0.0));
        assert!(
            got.clusters.iter().all(|c| c.count >= 1),
            "no empty cluster"
        );
    }

    #[test]
    fn one_cluster_when_asked_or_with_two_curves() {
        let curves = two_families();
        let got = cluster_curves(&curves, &ClusterOptions::new().with_k(1)).unwrap();
        assert_eq!(
            (got.k, got.clusters.len(), got.clusters[0].count),
            (1, 1, 10)
        );
        assert!(got.silhouette.is_nan(), "silhouette needs two clusters");
        let got = cluster_curves(&curves[..2], &ClusterOptions::new()).unwrap();
        assert_eq!(
            (got.k, got.assignments.clone()),
            (1, vec![0, 0]),
            "2..=1 is empty"
        );
        let json = serde_json::to_string(&got).unwrap();
        let back: Clustering = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (back.k, back.assignments, back.features),
            (1, got.assignments, got.features)
        );
        assert!(back.silhouette.is_nan(), "NaN survives JSON: {json}");
    }

    #[test]
    fn errors_name_the_problem() {
        let ok = Curve::new("ok", vec![0.0, 1.0], vec![2.0, 1.0]);
        let nan = |name: &str| Curve::new(name, vec![0.0], vec![f64::NAN]);
        let two = vec![ok.clone(), ok.clone()];
        let bad = Curve::new("bad", vec![0.0], vec![]);
        let k_of_2 = "clusters of 2 curves (need 1 <= k <= 2)";
        #[rustfmt::skip]
        let cases: Vec<(Vec<Curve>, Option<usize>, String, &str)> = vec![
            (vec![ok.clone()], None, "clustering needs at least 2 curves, got 1".into(), "one curve"),
            (two.clone(), Some(0), format!("cannot make 0 {k_of_2}"), "k = 0"),
            (two, Some(3), format!("cannot make 3 {k_of_2}"), "k > n"),
            (vec![ok.clone(), bad], None, "curve `bad` has 1 steps but 0 values".into(), "mismatch"),
            (vec![nan("x"), ok, nan("y")], None, "curves with no finite values: x, y".into(), "all named"),
        ];
        for (curves, k, want, why) in cases {
            let opts = match k {
                Some(k) => ClusterOptions::new().with_k(k),
                None => ClusterOptions::new(),
            };
            let err = cluster_curves(&curves, &opts).unwrap_err();
            assert_eq!(err.to_string(), want, "{why}");
        }
    }
}
