//! Input cleaning: finite points only, positive x, sorted by x.

use super::PredictError;

/// Finite `(x, y)` points with `x > 0`, sorted by `x` (ties keep their input order).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Points {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Points {
    /// Cleans `(xs, ys)`: pairs with a non-finite `x` or `y` are skipped; the rest must have `x > 0`.
    ///
    /// Errors: different lengths, no finite pair at all (when the input was not empty), or an `x ≤ 0`.
    pub(crate) fn clean(xs: &[f64], ys: &[f64]) -> Result<Points, PredictError> {
        if xs.len() != ys.len() {
            return Err(PredictError::LengthMismatch {
                x_len: xs.len(),
                y_len: ys.len(),
            });
        }
        let mut pairs: Vec<(f64, f64)> = xs
            .iter()
            .zip(ys)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| (*x, *y))
            .collect();
        if pairs.is_empty() && !xs.is_empty() {
            return Err(PredictError::NoFiniteData { total: xs.len() });
        }
        if let Some((x, _)) = pairs.iter().find(|(x, _)| *x <= 0.0) {
            return Err(PredictError::NonPositiveX { x: *x });
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(Points {
            x: pairs.iter().map(|p| p.0).collect(),
            y: pairs.iter().map(|p| p.1).collect(),
        })
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.x.len()
    }

    /// The first `k` points and the rest.
    pub(crate) fn split(&self, k: usize) -> (Points, Points) {
        let k = k.min(self.len());
        let head = Points {
            x: self.x[..k].to_vec(),
            y: self.y[..k].to_vec(),
        };
        let tail = Points {
            x: self.x[k..].to_vec(),
            y: self.y[k..].to_vec(),
        };
        (head, tail)
    }

    /// Smallest and largest x (`(0, 0)` when empty).
    pub(crate) fn x_range(&self) -> (f64, f64) {
        (
            self.x.first().copied().unwrap_or(0.0),
            self.x.last().copied().unwrap_or(0.0),
        )
    }

    /// A size for y: `max(max y − min y, max |y|)`, 0 when empty or all zero.
    pub(crate) fn y_scale(&self) -> f64 {
        let lo = self.y.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo <= hi {
            (hi - lo).max(hi.abs()).max(lo.abs())
        } else {
            0.0
        }
    }
}

/// Points prepared for fitting: `u = x / s` with `s` the largest x, and the fit's weights
/// `w = u^recency` (all 1 for `recency = 0`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scaled {
    pub u: Vec<f64>,
    pub y: Vec<f64>,
    pub w: Vec<f64>,
    /// The x scale `s`.
    pub s: f64,
}

impl Scaled {
    /// Scales `points` (non-empty, all x > 0) and computes the weights.
    pub(crate) fn new(points: &Points, recency: f64) -> Scaled {
        let s = points.x_range().1;
        let u: Vec<f64> = points.x.iter().map(|x| x / s).collect();
        let w = u
            .iter()
            .map(|v| if recency == 0.0 { 1.0 } else { v.powf(recency) })
            .collect();
        Scaled {
            u,
            y: points.y.clone(),
            w,
            s,
        }
    }

    /// Iterates over `(u, y, w)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        self.u
            .iter()
            .zip(&self.y)
            .zip(&self.w)
            .map(|((u, y), w)| (*u, *y, *w))
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.u.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_non_finite_and_sorts() {
        let p = Points::clean(
            &[3.0, 1.0, f64::NAN, 2.0, 4.0],
            &[30.0, 10.0, 5.0, f64::INFINITY, 40.0],
        )
        .unwrap();
        assert_eq!(p.x, vec![1.0, 3.0, 4.0]);
        assert_eq!(p.y, vec![10.0, 30.0, 40.0]);
        assert_eq!(p.x_range(), (1.0, 4.0));
        assert_eq!(p.y_scale(), 40.0, "max |y| 40 exceeds the range 30");
        let (h, t) = p.split(2);
        assert_eq!((h.x, t.x), (vec![1.0, 3.0], vec![4.0]));
    }

    #[test]
    fn scaling_and_weights() {
        let p = Points::clean(&[2.0, 4.0, 8.0], &[1.0, 2.0, 3.0]).unwrap();
        let s = Scaled::new(&p, 1.0);
        assert_eq!(
            (s.u.clone(), s.w.clone(), s.s),
            (vec![0.25, 0.5, 1.0], vec![0.25, 0.5, 1.0], 8.0)
        );
        assert_eq!(Scaled::new(&p, 2.0).w, vec![0.0625, 0.25, 1.0], "w = u^2");
        assert_eq!(Scaled::new(&p, 0.0).w, vec![1.0; 3], "unweighted");
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: [(&[f64], &[f64], PredictError, &str); 3] = [
            (
                &[1.0, 2.0],
                &[1.0],
                PredictError::LengthMismatch { x_len: 2, y_len: 1 },
                "lengths differ",
            ),
            (
                &[1.0, 2.0],
                &[f64::NAN, f64::NAN],
                PredictError::NoFiniteData { total: 2 },
                "all NaN",
            ),
            (
                &[0.0, 1.0],
                &[1.0, 1.0],
                PredictError::NonPositiveX { x: 0.0 },
                "x = 0",
            ),
        ];
        for (xs, ys, want, why) in cases {
            assert_eq!(Points::clean(xs, ys).unwrap_err(), want, "{why}");
        }
        assert_eq!(
            Points::clean(&[], &[]).unwrap().len(),
            0,
            "empty input is empty, not an error here"
        );
    }
}
