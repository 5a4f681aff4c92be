//! The learning-curve grid: one panel per quantity (train, valid and every evaluation set of a metric
//! together, at most [`MAX_PANELS`]), noisy series smoothed, loss panels zoomed on where the run lives,
//! the learning rate as a strip under the loss panel (or a note when it is constant).

use super::annotate::Annotator;
use super::canvas::Layout;
use super::options::{ChartOptions, Smoothing, XAxis};
use super::palette::{self, faint};
use super::panel::{Line, Panel, Xs};
use super::quantity::{groups, label};
use super::ticks::tick;
use super::{smooth, RenderError};
use crate::control::StopReason;
use crate::diagnosis::Diagnosis;
use crate::event::Split;
use crate::history::{History, Series};

/// The name of the learning-rate series, drawn in a strip under the loss panel rather than in a panel.
pub(crate) const LR: &str = "lr";
/// Lines with at most this many points get dots (sparse validation curves).
const DOTS_UP_TO: usize = 200;
/// At most this many panels in a chart; the rest are named in a note (the report has them all).
pub(crate) const MAX_PANELS: usize = 6;
/// Training series other than the main one of a panel (an epoch mean) are drawn in this colour.
const TRAIN_EXTRA: (u8, u8, u8) = (16, 52, 110);
/// Colours of the second and later validation series of a panel (more evaluation sets).
const MORE_VALID: [(u8, u8, u8); 8] = [
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Checks a smoothing weight: `[0, 1)` or none.
pub(crate) fn check_smoothing(weight: Option<f64>) -> Result<Option<f64>, RenderError> {
    match weight {
        Some(w) if !(0.0..1.0).contains(&w) => Err(RenderError::InvalidSmoothing { weight: w }),
        other => Ok(other),
    }
}

fn xs_of(series: &Series, axis: XAxis) -> Xs<'_> {
    match axis {
        XAxis::Step => Xs::U64(series.steps()),
        XAxis::Epoch => Xs::F32(series.epochs()),
    }
}

/// The colour of a series of a panel of quantity `quantity`; `valid_index` counts the validation series
/// before it.
fn colour_of(series: &Series, quantity: &str, valid_index: usize) -> (u8, u8, u8) {
    match series.split() {
        Split::Train if series.name() == quantity => palette::TRAIN,
        Split::Train => TRAIN_EXTRA,
        Split::Valid if valid_index == 0 => palette::VALID,
        Split::Valid => MORE_VALID[(valid_index - 1) % MORE_VALID.len()],
    }
}

/// Adds one series to a panel: plain, or raw (faint, no legend entry) under its smoothed curve (bold).
fn add_series<'a>(
    panel: &mut Panel<'a>,
    series: &'a Series,
    axis: XAxis,
    smoothing: Smoothing,
    colour: (u8, u8, u8),
) {
    let xs = xs_of(series, axis);
    let name = label(series);
    let weight = match smoothing {
        Smoothing::Off => None,
        Smoothing::Weight(w) => Some(w).filter(|_| series.len() >= smooth::MIN_POINTS),
        Smoothing::Auto => smooth::auto_weight(series.values()),
    };
    match weight {
        None => {
            let line = Line::new(xs, series.values(), colour).label(name);
            let few = series.len() <= DOTS_UP_TO;
            panel.lines.push(if few { line.dots() } else { line });
        }
        Some(w) => {
            let raw = Line::new(xs, series.values(), faint(colour, palette::RAW_AMOUNT));
            panel.lines.push(raw);
            let line = Line::new(xs, series.values(), colour).width(2).smoothed(w);
            panel.lines.push(line.label(format!("{name} (EMA {w})")));
        }
    }
}

/// Everything [`super::learning_curves`] draws.
pub(crate) fn layout<'a>(
    history: &'a History,
    diagnoses: &[Diagnosis],
    stop: Option<&StopReason>,
    opts: &ChartOptions,
) -> Result<Layout<'a>, RenderError> {
    check_smoothing(opts.smoothing())?;
    let axis = opts.x_axis();
    let annotator = Annotator::new(history, axis);
    let mut groups = groups(history, LR);
    let hidden: Vec<String> = groups
        .iter()
        .skip(MAX_PANELS)
        .map(|g| g.quantity.clone())
        .collect();
    groups.truncate(MAX_PANELS);
    let lr = history
        .get(Split::Train, LR)
        .filter(|s| !s.is_empty() && opts.lr_panel());
    let constant_lr = lr.and_then(constant);
    let mut panels = Vec::new();
    for g in &groups {
        let mut p = blank(&g.quantity, opts);
        p.log_y = opts.log_y();
        let mut valid_index = 0;
        for s in &g.series {
            let colour = colour_of(s, &g.quantity, valid_index);
            valid_index += usize::from(s.split() == Split::Valid);
            add_series(&mut p, s, axis, opts.smoothing_mode(), colour);
        }
        p.marks = annotator.marks(&g.quantity, diagnoses, stop);
        if opts.auto_axes() && !opts.log_y() {
            zoom(&mut p);
        }
        if let (Some(v), true) = (constant_lr, panels.is_empty()) {
            p.caption = format!("{} (constant lr {})", p.caption, tick(&v));
        }
        panels.push(p);
    }
    let footer = lr
        .filter(|_| constant_lr.is_none() || panels.is_empty())
        .map(|s| {
            let mut p = blank(LR, opts);
            p.caption = String::new();
            p.y_desc = "lr".to_owned();
            p.lines
                .push(Line::new(xs_of(s, axis), s.values(), palette::LR));
            p.marks = annotator.stop_marks(diagnoses, stop);
            p
        });
    Ok(Layout {
        panels,
        footer,
        empty_message: "no data recorded yet",
        hidden,
    })
}

/// The value of a series whose finite values are all equal (to a relative 1e-9), else `None`.
fn constant(s: &Series) -> Option<f64> {
    let mut finite = s.values().iter().copied().filter(|v| v.is_finite());
    let first = finite.next()?;
    let tol = first.abs() * 1e-9;
    finite.all(|v| (v - first).abs() <= tol).then_some(first)
}

/// Zooms a loss-like panel on the band where the run spends its time after the first 5% of its x range
/// (the 0.5–99.5% range of every line there), when that band is less than a third of the full range (an
/// LLM's loss falls from 11 to 4 early, then matters between 3.2 and 4); the caption says what was
/// clipped.
fn zoom(p: &mut Panel<'_>) {
    let lossy = ["loss", "perplexity", "ppl", "norm"]
        .iter()
        .any(|q| p.caption.contains(q));
    if !lossy {
        return;
    }
    // Sampled (at most ~20k points a line, the first always in): a view choice needs no exact pass
    // over 10 million points.
    let sample = |l: &Line<'_>| (0..l.len()).step_by((l.len() / 20_000).max(1));
    let mut all = (f64::INFINITY, f64::NEG_INFINITY);
    let mut x_range = (f64::INFINITY, f64::NEG_INFINITY);
    for l in &p.lines {
        for i in sample(l) {
            let (x, y) = (l.xs.at(i), l.ys[i]);
            if y.is_finite() && x.is_finite() {
                all = (all.0.min(y), all.1.max(y));
                x_range = (x_range.0.min(x), x_range.1.max(x));
            }
        }
    }
    if all.1 <= all.0 {
        return;
    }
    let cut = x_range.0 + 0.05 * (x_range.1 - x_range.0);
    let mut late: Vec<f64> = Vec::new();
    for l in &p.lines {
        late.extend(
            sample(l)
                .filter(|&i| l.xs.at(i) >= cut && l.ys[i].is_finite())
                .map(|i| l.ys[i]),
        );
    }
    let (Some(lo), Some(hi)) = (
        smooth::quantile(&mut late, 0.005),
        smooth::quantile(&mut late, 0.995),
    ) else {
        return;
    };
    if hi > lo && 3.0 * (hi - lo) < all.1 - all.0 {
        p.y_zoom = Some((lo, hi));
        // Three significant digits: `11`, `15.2`.
        let scale = 10f64.powf(all.1.abs().log10().floor() - 2.0);
        let top = tick(&((all.1 / scale).round() * scale));
        p.caption = format!("{} (zoomed; first 5% reaches {top})", p.caption);
    }
}

/// An empty panel for quantity `name`: caption and y label `name`, x label from the options.
fn blank<'a>(name: &str, opts: &ChartOptions) -> Panel<'a> {
    Panel {
        caption: name.to_owned(),
        x_desc: opts.x_axis().label().to_owned(),
        y_desc: name.to_owned(),
        decimate: opts.decimate(),
        ..Panel::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_weight_checks() {
        let cases = [
            (None, true, "no smoothing"),
            (Some(0.0), true, "zero weight is the raw curve"),
            (Some(0.99), true, "heavy smoothing"),
            (Some(1.0), false, "weight 1 never moves"),
            (Some(-0.1), false, "negative"),
            (Some(f64::NAN), false, "NaN"),
        ];
        for (w, ok, why) in cases {
            assert_eq!(check_smoothing(w).is_ok(), ok, "{why}");
        }
    }

    #[test]
    fn layout_puts_train_and_valid_in_one_panel_and_a_varying_lr_in_a_strip() {
        let mut h = History::new();
        let tl = h.key(Split::Train, "loss");
        let vl = h.key(Split::Valid, "loss");
        let lr = h.key(Split::Train, "lr");
        for step in 1..=40 {
            h.record(tl, step, 0.0, 1.0);
            h.record(lr, step, 0.0, 0.1 * step as f64);
        }
        h.record(vl, 10, 1.0, 1.0);
        let opts = ChartOptions::new().with_smoothing(0.5);
        let l = layout(&h, &[], None, &opts).unwrap();
        assert_eq!(l.panels.len(), 1);
        let labels: Vec<_> = l.panels[0].lines.iter().map(|l| l.label.clone()).collect();
        assert_eq!(
            labels,
            [
                None,
                Some("train loss (EMA 0.5)".to_owned()),
                Some("valid loss".to_owned())
            ],
            "raw faint without an entry, smoothed bold, a one-point series plain"
        );
        assert_eq!(l.footer.as_ref().map(|f| f.y_desc.as_str()), Some("lr"));
        let no_lr = layout(&h, &[], None, &opts.clone().with_lr_panel(false)).unwrap();
        assert!(no_lr.footer.is_none());
    }

    #[test]
    fn a_constant_lr_is_a_note_not_a_panel() {
        let mut h = History::new();
        let tl = h.key(Split::Train, "loss");
        let lr = h.key(Split::Train, "lr");
        for step in 1..=40 {
            h.record(tl, step, 0.0, 1.0 / (1.0 + step as f64 / 40.0));
            h.record(lr, step, 0.0, 1e-5);
        }
        let l = layout(&h, &[], None, &ChartOptions::new()).unwrap();
        assert!(l.footer.is_none());
        assert_eq!(l.panels[0].caption, "loss (constant lr 1e-5)");
    }

    #[test]
    fn at_most_six_panels_and_a_note_names_the_rest() {
        let mut h = History::new();
        for name in ["loss", "a", "b", "c", "d", "e", "f", "g"] {
            let k = h.key(Split::Train, name);
            h.record(k, 1, 0.0, 1.0);
        }
        let l = layout(&h, &[], None, &ChartOptions::new()).unwrap();
        assert_eq!(l.panels.len(), MAX_PANELS);
        assert_eq!(l.hidden, ["f", "g"]);
    }

    #[test]
    fn an_llm_loss_is_zoomed_on_where_it_lives() {
        let mut h = History::new();
        let tl = h.key(Split::Train, "loss");
        // 11 at the start, down to 3.2..4 after the first 5%.
        for step in 0..1000u64 {
            let t = step as f64;
            h.record(
                tl,
                step,
                0.0,
                3.2 + 7.8 * (-t / 15.0).exp() + 0.8 * (-t / 400.0).exp(),
            );
        }
        let l = layout(&h, &[], None, &ChartOptions::new()).unwrap();
        let (lo, hi) = l.panels[0].y_zoom.expect("zoomed");
        assert!(lo > 3.2 && lo < 3.4 && hi > 3.7 && hi < 4.1, "{lo} {hi}");
        assert!(
            l.panels[0].caption.contains("first 5% reaches 11"),
            "{}",
            l.panels[0].caption
        );
        let off = ChartOptions::new().with_auto_axes(false);
        assert_eq!(layout(&h, &[], None, &off).unwrap().panels[0].y_zoom, None);
    }
}
