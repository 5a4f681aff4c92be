//! The learning-curve grid as a user sees it, checked in pixels: a noisy loss drawn smoothed (bold)
//! over its raw values (faint), the epoch mean on the same panel, an episode as a shaded span.

use curvewatch::render::charts::palette::{self, faint};
use curvewatch::render::charts::{learning_curves_image, ChartOptions, RgbImage};
use curvewatch::{Diagnosis, DiagnosisKind, Episode, History, Severity, Split};

type Rgb = (u8, u8, u8);

fn near(a: Rgb, b: Rgb) -> bool {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y));
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2) <= 6
}

/// Pixels of colour `c` in columns `x0..x1` of the plot of panel 0.
fn count_in(img: &RgbImage, (x0, x1): (i32, i32), c: Rgb) -> usize {
    let (_, top, _, bottom) = img.panels[0].plot;
    (x0..x1)
        .flat_map(|x| (top..bottom).map(move |y| (x, y)))
        .filter(|&(x, y)| img.pixel(x, y).is_some_and(|p| near(p, c)))
        .count()
}

/// A per-batch loss with noise of ±0.3 around `1/(1 + t/300)`, 3000 steps, and its epoch means.
fn noisy() -> History {
    let mut h = History::new();
    let loss = h.key(Split::Train, "loss");
    for step in 1..=3000u64 {
        // Deterministic noise in [-0.5, 0.5): the fractional part of a fast-varying sine.
        let u = ((step as f64 * 12.9898).sin() * 43_758.545).rem_euclid(1.0) - 0.5;
        let t = step as f64;
        h.record(
            loss,
            step,
            t / 300.0,
            0.2 + 1.0 / (1.0 + t / 300.0) + 0.6 * u,
        );
    }
    let epoch = h.key(Split::Train, "epoch_loss");
    for e in 1..=10u64 {
        h.record(epoch, e * 300, e as f64, 0.2 + 1.0 / (1.0 + e as f64));
    }
    h
}

#[test]
fn a_noisy_loss_is_smoothed_bold_over_faint_raw_values_with_its_epoch_mean() {
    let h = noisy();
    let opts = ChartOptions::new().with_size(800, 500);
    let img = learning_curves_image(&h, &[], None, &opts).unwrap();
    assert_eq!(img.panels.len(), 1, "loss and epoch_loss share one panel");
    let f = &img.panels[0];
    let (left, _, right, _) = f.plot;
    let raw = count_in(
        &img,
        (left, right),
        faint(palette::TRAIN, palette::RAW_AMOUNT),
    );
    let bold = count_in(&img, (left, right), palette::TRAIN);
    assert!(raw > 5_000, "raw values drawn faint: {raw}");
    assert!(bold > 800, "smoothed curve drawn bold: {bold}");
    // The smoothed curve runs near the trend: at step 1500 the bold colour is within a few pixels of it.
    let (col, row) = f.to_pixel(1500.0, 0.2 + 1.0 / 6.0).unwrap();
    let hit =
        (row - 12..=row + 12).any(|y| img.pixel(col, y).is_some_and(|p| near(p, palette::TRAIN)));
    assert!(hit, "bold line near the trend at step 1500");
    let dark = (16, 52, 110);
    assert!(
        count_in(&img, (left, right), dark) > 50,
        "the epoch mean drawn on the loss panel"
    );
    let plain = learning_curves_image(&h, &[], None, &opts.clone().without_smoothing()).unwrap();
    let faint_raw = faint(palette::TRAIN, palette::RAW_AMOUNT);
    let (plain_raw, plain_full) = (
        count_in(&plain, (left, right), faint_raw),
        count_in(&plain, (left, right), palette::TRAIN),
    );
    assert!(
        plain_raw * 10 < raw && plain_full > raw / 2,
        "without smoothing the raw values are in full colour: {plain_raw} faint, {plain_full} full"
    );
}

#[test]
fn an_episode_is_a_shaded_span_and_nothing_outside_it() {
    let h = noisy();
    let mut d =
        Diagnosis::new(DiagnosisKind::Plateau, Severity::Info, "flat").with_metric("train/loss");
    d.step = 2000;
    let mut e = Episode::at(1200);
    e.end_step = 2000;
    e.closed = true;
    d.episode = Some(e);
    let opts = ChartOptions::new().with_size(800, 500).without_smoothing();
    let img = learning_curves_image(&h, &[d], None, &opts).unwrap();
    let f = &img.panels[0];
    let shade = faint(palette::EPISODE, palette::SPAN_AMOUNT);
    let (a, _) = f.to_pixel(1300.0, f.y_range.0).unwrap();
    let (b, _) = f.to_pixel(1900.0, f.y_range.0).unwrap();
    let (c, _) = f.to_pixel(2200.0, f.y_range.0).unwrap();
    let (z, _) = f.to_pixel(2900.0, f.y_range.0).unwrap();
    assert!(
        count_in(&img, (a, b), shade) > 1000,
        "shaded inside the episode"
    );
    let after = count_in(&img, (c, z), shade);
    assert!(after < 50, "nothing shaded after it closed: {after}");
}
