//! k-means++ with restarts, the silhouette score, and the small deterministic generator they share.

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast, and the same sequence on every platform.
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform index in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_f64() * n as f64) as usize).min(n - 1)
    }
}

/// A partition of the points into clusters `0..k`, and its inertia (sum of squared distances from
/// each point to its cluster's mean).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fit {
    pub(super) assign: Vec<usize>,
    pub(super) inertia: f64,
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Runs k-means++ `restarts` times from one generator and keeps the fit of lowest inertia (the earliest
/// on ties). Needs `1 <= k <= points.len()`; every cluster of the result is non-empty, and clusters are
/// numbered in order of their first member.
pub(super) fn kmeans(
    points: &[Vec<f64>],
    k: usize,
    rng: &mut SplitMix64,
    restarts: usize,
    max_iterations: usize,
) -> Fit {
    let mut best: Option<Fit> = None;
    for _ in 0..restarts.max(1) {
        let centres = seed_centres(points, k, rng);
        let fit = lloyd(points, centres, max_iterations);
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    let mut fit = best.unwrap_or(Fit {
        assign: vec![0; points.len()],
        inertia: 0.0,
    });
    relabel(&mut fit.assign, k);
    fit
}

/// k-means++ seeding: the first centre uniformly, each next one with probability proportional to the
/// squared distance to the nearest centre chosen so far (uniformly if every point sits on a centre).
fn seed_centres(points: &[Vec<f64>], k: usize, rng: &mut SplitMix64) -> Vec<Vec<f64>> {
    let mut centres = vec![points[rng.below(points.len())].clone()];
    let mut d2: Vec<f64> = points.iter().map(|p| dist2(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 && total.is_finite() {
            let target = rng.next_f64() * total;
            let mut acc = 0.0;
            let last_positive = d2.iter().rposition(|d| *d > 0.0).unwrap_or(0);
            d2.iter()
                .position(|d| {
                    acc += d;
                    *d > 0.0 && acc > target
                })
                .unwrap_or(last_positive)
        } else {
            rng.below(points.len())
        };
        let centre = points[pick].clone();
        for (d, p) in d2.iter_mut().zip(points) {
            *d = d.min(dist2(p, &centre));
        }
        centres.push(centre);
    }
    centres
}

/// Lloyd iterations from `centres` until the assignment stops changing (or `max_iterations`).
fn lloyd(points: &[Vec<f64>], mut centres: Vec<Vec<f64>>, max_iterations: usize) -> Fit {
    let mut assign: Vec<usize> = Vec::new();
    for _ in 0..max_iterations.max(1) {
        let mut next: Vec<usize> = points.iter().map(|p| nearest(p, &centres)).collect();
        fill_empty(points, &centres, &mut next);
        if next == assign {
            break;
        }
        assign = next;
        centres = means(points, &assign, centres.len());
    }
    let inertia = points
        .iter()
        .zip(&assign)
        .map(|(p, &c)| dist2(p, &centres[c]))
        .sum();
    Fit { assign, inertia }
}

/// The index of the centre nearest to `p` (the lowest index on ties).
fn nearest(p: &[f64], centres: &[Vec<f64>]) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, c) in centres.iter().enumerate() {
        let d = dist2(p, c);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

/// Gives every empty cluster the point farthest from its centre among clusters with more than one
/// member, so that no cluster stays empty (possible since `k <= n`).
fn fill_empty(points: &[Vec<f64>], centres: &[Vec<f64>], assign: &mut [usize]) {
    let mut sizes = vec![0usize; centres.len()];
    assign.iter().for_each(|&c| sizes[c] += 1);
    for empty in 0..centres.len() {
        if sizes[empty] > 0 {
            continue;
        }
        let donor = (0..points.len())
            .filter(|&i| sizes[assign[i]] > 1)
            .map(|i| (i, dist2(&points[i], &centres[assign[i]])))
            .fold(None, |best: Option<(usize, f64)>, (i, d)| match best {
                Some((_, bd)) if bd >= d => best,
                _ => Some((i, d)),
            });
        if let Some((i, _)) = donor {
            sizes[assign[i]] -= 1;
            assign[i] = empty;
            sizes[empty] += 1;
        }
    }
}

fn means(points: &[Vec<f64>], assign: &[usize], k: usize) -> Vec<Vec<f64>> {
    let width = points.first().map_or(0, Vec::len);
    let mut sums = vec![vec![0.0; width]; k];
    let mut counts = vec![0usize; k];
    for (p, &c) in points.iter().zip(assign) {
        counts[c] += 1;
        sums[c].iter_mut().zip(p).for_each(|(s, x)| *s += x);
    }
    for (s, n) in sums.iter_mut().zip(counts) {
        s.iter_mut().for_each(|x| *x /= n.max(1) as f64);
    }
    sums
}

/// Renumbers clusters in order of their first member, so equal partitions print alike.
fn relabel(assign: &mut [usize], k: usize) {
    let mut map = vec![usize::MAX; k];
    let mut next = 0;
    for c in assign.iter_mut() {
        if map[*c] == usize::MAX {
            map[*c] = next;
            next += 1;
        }
        *c = map[*c];
    }
}

/// Mean silhouette (Rousseeuw 1987) with Euclidean distance: for each point, `a` is its mean distance
/// to the rest of its cluster, `b` the smallest mean distance to another cluster, and
/// `s = (b - a) / max(a, b)`; a point alone in its cluster, or with `a = b = 0`, scores 0. NaN when
/// fewer than two clusters are non-empty.
pub(super) fn silhouette(points: &[Vec<f64>], assign: &[usize], k: usize) -> f64 {
    let mut sizes = vec![0usize; k];
    assign.iter().for_each(|&c| sizes[c] += 1);
    if sizes.iter().filter(|&&s| s > 0).count() < 2 {
        return f64::NAN;
    }
    let total: f64 = (0..points.len())
        .map(|i| point_silhouette(points, assign, &sizes, i))
        .sum();
    total / points.len() as f64
}

fn point_silhouette(points: &[Vec<f64>], assign: &[usize], sizes: &[usize], i: usize) -> f64 {
    let own = assign[i];
    if sizes[own] < 2 {
        return 0.0;
    }
    let mut sums = vec![0.0; sizes.len()];
    for (p, &c) in points.iter().zip(assign) {
        sums[c] += dist2(&points[i], p).sqrt();
    }
    let a = sums[own] / (sizes[own] - 1) as f64;
    let b = (0..sizes.len())
        .filter(|&c| c != own && sizes[c] > 0)
        .map(|c| sums[c] / sizes[c] as f64)
        .fold(f64::INFINITY, f64::min);
    let scale = a.max(b);
    if scale > 0.0 && scale.is_finite() {
        (b - a) / scale
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_d(xs: &[f64]) -> Vec<Vec<f64>> {
        xs.iter().map(|x| vec![*x]).collect()
    }

    #[test]
    fn silhouette_by_hand() {
        #[rustfmt::skip]
        let cases: &[(&[f64], &[usize], f64, &str)] = &[
            // 0: a=1, b=5.5 -> 9/11; 1: a=1, b=4.5 -> 7/9; 5 and 6 mirror them.
            (&[0.0, 1.0, 5.0, 6.0], &[0, 0, 1, 1], (9.0 / 11.0 + 7.0 / 9.0) / 2.0, "two pairs"),
            // 0: a=1, b=10 -> 0.9; 1: a=1, b=9 -> 8/9; 10 alone -> 0.
            (&[0.0, 1.0, 10.0], &[0, 0, 1], (0.9 + 8.0 / 9.0) / 3.0, "a singleton scores 0"),
            // {0, 5} and {1, 6}: every a = 5; b = 3.5, 2.5, 2.5, 3.5 -> s = -0.3, -0.5, -0.5, -0.3.
            (&[0.0, 1.0, 5.0, 6.0], &[0, 1, 0, 1], -0.4, "a bad split scores negative"),
            (&[2.0, 2.0, 2.0], &[0, 0, 1], 0.0, "identical points: a = b = 0"),
        ];
        for (xs, assign, want, why) in cases {
            let got = silhouette(&one_d(xs), assign, 2);
            assert!((got - want).abs() < 1e-12, "{why}: {got} vs {want}");
        }
        assert!(
            silhouette(&one_d(&[1.0, 2.0]), &[0, 0], 2).is_nan(),
            "one cluster"
        );
    }

    #[test]
    fn kmeans_finds_the_obvious_split_and_fills_empty_clusters() {
        let mut rng = SplitMix64::new(7);
        let fit = kmeans(&one_d(&[0.0, 1.0, 5.0, 6.0]), 2, &mut rng, 5, 100);
        assert_eq!(fit.assign, vec![0, 0, 1, 1]);
        assert!(
            (fit.inertia - 1.0).abs() < 1e-12,
            "4 * 0.5^2 = 1, got {}",
            fit.inertia
        );
        // Three identical points and k = 3: every cluster still gets one.
        let fit = kmeans(&one_d(&[4.0, 4.0, 4.0]), 3, &mut rng, 3, 100);
        assert_eq!(fit.assign, vec![0, 1, 2]);
        assert_eq!(fit.inertia, 0.0);
    }

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 0 of the reference implementation (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
