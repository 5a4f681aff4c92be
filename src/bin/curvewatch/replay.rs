//! `curvewatch replay FILE --monitor METRIC ...`: when would early stopping have stopped this run,
//! and why, under Keras's or Lightning's defaults and rules.

use std::io::Write;

use curvewatch::callbacks::early_stopping::EarlyStopping;
use curvewatch::callbacks::{Direction, Monitor};
use curvewatch::{replay, Bus, ReplayOptions};

use crate::args::{Mode, ReplayArgs, Semantics};
use crate::error::CliError;
use crate::json::{finite, EarlyStoppingJson};
use crate::load;

/// Builds the early stopping the arguments describe, on `split/name`.
///
/// `--semantics` picks the defaults: Keras (patience 0, check_finite off, no stop during epoch 0,
/// mode inferred from the name) or Lightning (patience 3, check_finite on, mode min); every other
/// option overrides them.
pub fn early_stopping(args: &ReplayArgs, monitor: Monitor) -> EarlyStopping {
    let mut es = match args.semantics {
        Semantics::Keras => EarlyStopping::keras(monitor),
        Semantics::Lightning => {
            EarlyStopping::lightning(monitor).with_direction(Direction::Minimize)
        }
    };
    if let Some(mode) = args.mode {
        es = es.with_direction(match mode {
            Mode::Min => Direction::Minimize,
            Mode::Max => Direction::Maximize,
        });
    }
    if let Some(p) = args.patience {
        es = es.with_patience(p);
    }
    if let Some(d) = args.min_delta {
        es = es.with_min_delta(d);
    }
    if let Some(d) = args.relative_min_delta {
        es = es.with_relative_delta(d);
    }
    if let Some(b) = args.baseline {
        es = es.with_baseline(b);
    }
    if let Some(e) = args.start_from_epoch {
        es = es.with_start_from_epoch(e);
    }
    if let Some(t) = args.stopping_threshold {
        es = es.with_stopping_threshold(t);
    }
    if let Some(t) = args.divergence_threshold {
        es = es.with_divergence_threshold(t);
    }
    if args.check_finite || args.no_check_finite {
        es = es.with_check_finite(args.check_finite);
    }
    es
}

/// Runs `replay`.
pub fn run(args: &ReplayArgs) -> Result<(), CliError> {
    let imported = load::import(&args.file, args.input.format, args.restarts.restarts())?;
    let file = imported.source_name();
    let series = load::series(&file, &imported.history, &args.monitor)?;
    let monitor = Monitor::new(series.split(), series.name());
    if args.semantics == Semantics::Lightning
        && args.mode.is_none()
        && monitor.direction() == Direction::Maximize
    {
        load::note(&format!(
            "note: Lightning's default mode is min; pass --mode max if higher {} is better",
            series.label()
        ));
    }
    if args.start_from_epoch.is_some() && !imported.epochs_known {
        load::note(&format!(
            "note: {file} gives no epochs (every value is in epoch 0), so --start-from-epoch skips all or nothing"
        ));
    }
    let es = early_stopping(args, monitor);
    let mut bus = Bus::new();
    bus.add(es);
    replay(&imported.history, &mut bus, ReplayOptions::faithful()).map_err(|source| {
        CliError::Replay {
            file: file.clone(),
            source,
        }
    })?;
    let Some(es) = bus.callback::<EarlyStopping>() else {
        return Ok(());
    };
    let outcome = outcome(es);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &outcome).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        text(&mut out, &series.label(), es, &outcome)?;
    }
    out.flush()?;
    Ok(())
}

/// What early stopping decided, in the `replay --json` shape.
pub fn outcome(es: &EarlyStopping) -> EarlyStoppingJson {
    let stop = es.stopped();
    let best = es.best();
    EarlyStoppingJson {
        stopped: stop.is_some(),
        stop_index: stop.map(|s| s.index),
        stop_step: stop.map(|s| s.step),
        best_index: best.map(|b| b.index),
        best_value: best.and_then(|b| finite(b.value)),
        reason: stop.map(|s| format!("{}: {}", s.rule.as_str(), s.message)),
    }
}

fn text(
    out: &mut impl Write,
    label: &str,
    es: &EarlyStopping,
    o: &EarlyStoppingJson,
) -> Result<(), CliError> {
    let m = es.monitor();
    writeln!(
        out,
        "early stopping on {label} (mode {}, patience {}, min_delta {}, relative {}): {} values seen",
        match m.direction() {
            Direction::Minimize => "min",
            Direction::Maximize => "max",
        },
        es.patience(),
        m.min_delta(),
        m.relative_delta(),
        es.values_seen()
    )?;
    match (&o.reason, o.stop_index, o.stop_step) {
        (Some(reason), Some(i), Some(step)) => {
            writeln!(out, "would stop at value #{i} (step {step}): {reason}")?
        }
        _ => writeln!(out, "would not stop")?,
    }
    match es.best() {
        Some(b) => writeln!(
            out,
            "best {} at value #{} (step {}, epoch {}): restore these weights",
            b.value, b.index, b.step, b.epoch
        )?,
        None => writeln!(out, "no value improved on the start")?,
    }
    Ok(())
}
