//! What [`cluster_curves`](super::cluster_curves) returns.

use serde::{Deserialize, Serialize};

use super::{CurveFeatures, FeatureSet};

/// One cluster's members and typical values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// The cluster's number: clusters are numbered in order of their first member.
    pub id: usize,
    /// How many curves it holds (at least 1).
    pub count: usize,
    /// Mean of its members' final values.
    #[serde(with = "crate::persist::float")]
    pub mean_final: f64,
    /// Mean of its members' improvements (first minus final value).
    #[serde(with = "crate::persist::float")]
    pub mean_improvement: f64,
    /// Its members' indices in the input, ascending.
    pub members: Vec<usize>,
    /// Its members' names, in the same order.
    pub names: Vec<String>,
}

/// The silhouette and inertia of the best fit for one candidate `k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// The number of clusters.
    pub k: usize,
    /// Mean silhouette of the fit (NaN for `k = 1`).
    #[serde(with = "crate::persist::float")]
    pub silhouette: f64,
    /// Sum of squared z-scored distances to the cluster means.
    #[serde(with = "crate::persist::float")]
    pub inertia: f64,
}

/// The result of [`cluster_curves`](super::cluster_curves).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    /// The number of clusters used (asked for, or chosen by silhouette).
    pub k: usize,
    /// Mean silhouette of the result in the z-scored feature space; NaN when `k = 1`.
    #[serde(with = "crate::persist::float")]
    pub silhouette: f64,
    /// Sum of squared z-scored distances to the cluster means.
    #[serde(with = "crate::persist::float")]
    pub inertia: f64,
    /// The features that were compared.
    pub feature_set: FeatureSet,
    /// The cluster of each curve, in input order.
    pub assignments: Vec<usize>,
    /// One summary per cluster, by id.
    pub clusters: Vec<ClusterSummary>,
    /// Each curve's features, in input order (before z-scoring).
    pub features: Vec<CurveFeatures>,
    /// Every candidate `k` tried (one entry when `k` was given).
    pub candidates: Vec<KScore>,
}

/// One summary per cluster `0..k`, from the features and the assignment.
pub(super) fn summarise(
    features: &[CurveFeatures],
    assign: &[usize],
    k: usize,
) -> Vec<ClusterSummary> {
    (0..k)
        .map(|id| {
            let members: Vec<usize> = (0..assign.len()).filter(|&i| assign[i] == id).collect();
            let count = members.len();
            let mean = |f: fn(&CurveFeatures) -> f64| {
                members.iter().map(|&i| f(&features[i])).sum::<f64>() / count.max(1) as f64
            };
            ClusterSummary {
                id,
                count,
                mean_final: mean(|f| f.final_value),
                mean_improvement: mean(|f| f.improvement),
                names: members.iter().map(|&i| features[i].name.clone()).collect(),
                members,
            }
        })
        .collect()
}
