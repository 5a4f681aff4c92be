//! The learning-curve grid: one panel per metric name, train and valid together, the learning rate in a
//! footer panel.

use std::borrow::Cow;

use super::annotate::Annotator;
use super::canvas::Layout;
use super::options::{ChartOptions, XAxis};
use super::palette::{self, faint};
use super::panel::{Line, Panel, Xs};
use super::RenderError;
use crate::analysis::smoothing::debiased_ema;
use crate::control::StopReason;
use crate::diagnosis::Diagnosis;
use crate::event::Split;
use crate::history::{History, Series};

/// The name of the learning-rate series, drawn in the footer rather than in a metric panel.
pub(crate) const LR: &str = "lr";
/// Lines with at most this many points get dots (sparse validation curves).
const DOTS_UP_TO: usize = 200;

/// Checks a smoothing weight: `[0, 1)` or none.
pub(crate) fn check_smoothing(weight: Option<f64>) -> Result<Option<f64>, RenderError> {
    match weight {
        Some(w) if !(0.0..1.0).contains(&w) => Err(RenderError::InvalidSmoothing { weight: w }),
        other => Ok(other),
    }
}

/// Metric names with at least one non-empty series, in registration order, `lr` left out.
pub(crate) fn metric_names(history: &History) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for (_, s) in history.iter() {
        if !s.is_empty() && s.name() != LR && !names.contains(&s.name()) {
            names.push(s.name());
        }
    }
    names
}

fn xs_of(series: &Series, axis: XAxis) -> Xs<'_> {
    match axis {
        XAxis::Step => Xs::U64(series.steps()),
        XAxis::Epoch => Xs::F32(series.epochs()),
    }
}

fn colour_of(split: Split) -> (u8, u8, u8) {
    match split {
        Split::Train => palette::TRAIN,
        Split::Valid => palette::VALID,
    }
}

/// Adds one series to a panel: plain, or raw (faint) plus smoothed (bold).
fn add_series<'a>(panel: &mut Panel<'a>, series: &'a Series, axis: XAxis, weight: Option<f64>) {
    let xs = xs_of(series, axis);
    let colour = colour_of(series.split());
    let split = series.split().as_str();
    let few = series.len() <= DOTS_UP_TO;
    match weight {
        None => {
            let line = Line::new(xs, series.values(), colour).label(split);
            panel.lines.push(if few { line.dots() } else { line });
        }
        Some(w) => {
            let raw = Line::new(xs, series.values(), faint(colour, palette::RAW_AMOUNT));
            panel.lines.push(raw.label(format!("{split} (raw)")));
            let smooth: Cow<'a, [f64]> = Cow::Owned(debiased_ema(series.values(), w));
            let line = Line::new(xs, smooth, colour).width(2);
            panel.lines.push(line.label(format!("{split} (EMA {w})")));
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
    let weight = check_smoothing(opts.smoothing())?;
    let axis = opts.x_axis();
    let annotator = Annotator::new(history, axis);
    let mut panels = Vec::new();
    for name in metric_names(history) {
        let mut p = blank(name, opts);
        p.log_y = opts.log_y();
        for split in [Split::Train, Split::Valid] {
            if let Some(s) = history.get(split, name).filter(|s| !s.is_empty()) {
                add_series(&mut p, s, axis, weight);
            }
        }
        p.marks = annotator.marks(name, diagnoses, stop);
        panels.push(p);
    }
    let lr = history.get(Split::Train, LR).filter(|s| !s.is_empty());
    let footer = lr.filter(|_| opts.lr_panel()).map(|s| {
        let mut p = blank(LR, opts);
        p.caption = "learning rate".to_owned();
        p.lines
            .push(Line::new(xs_of(s, axis), s.values(), palette::LR));
        p.marks = annotator.stop_marks(diagnoses, stop);
        p
    });
    Ok(Layout {
        panels,
        footer,
        empty_message: "no data recorded yet",
    })
}

/// An empty panel for metric `name`: caption and y label `name`, x label from the options.
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
    fn metric_names_skip_lr_and_empty_series_and_merge_splits() {
        let mut h = History::new();
        let tl = h.key(Split::Train, "loss");
        let lr = h.key(Split::Train, "lr");
        let _empty = h.key(Split::Train, "grad_norm");
        let vl = h.key(Split::Valid, "loss");
        let va = h.key(Split::Valid, "acc");
        for k in [tl, lr, vl, va] {
            h.record(k, 1, 0.0, 1.0);
        }
        assert_eq!(metric_names(&h), vec!["loss", "acc"]);
    }

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
    fn layout_puts_train_and_valid_in_one_panel_and_lr_in_the_footer() {
        let mut h = History::new();
        let tl = h.key(Split::Train, "loss");
        let vl = h.key(Split::Valid, "loss");
        let lr = h.key(Split::Train, "lr");
        for step in 1..=10 {
            h.record(tl, step, 0.0, 1.0);
            h.record(lr, step, 0.0, 0.1);
        }
        h.record(vl, 10, 1.0, 1.0);
        let opts = ChartOptions::new().with_smoothing(0.5);
        let l = layout(&h, &[], None, &opts).unwrap();
        assert_eq!(l.panels.len(), 1);
        let labels: Vec<_> = l.panels[0]
            .lines
            .iter()
            .map(|l| l.label.clone().unwrap())
            .collect();
        assert_eq!(
            labels,
            [
                "train (raw)",
                "train (EMA 0.5)",
                "valid (raw)",
                "valid (EMA 0.5)"
            ]
        );
        assert_eq!(
            l.footer.as_ref().map(|f| f.caption.as_str()),
            Some("learning rate")
        );
        let no_lr = layout(&h, &[], None, &opts.clone().with_lr_panel(false)).unwrap();
        assert!(no_lr.footer.is_none());
    }
}
