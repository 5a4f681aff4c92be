//! Chart tests that look at pixels: charts are rendered into in-memory RGB buffers and sampled where
//! lines, bands, dashes, labels and markers must be (positions come from each panel's frame).

use curvewatch::analysis::multi_run::{aggregate, Curve, MultiRunOptions};
use curvewatch::render::charts::palette::{self, faint};
use curvewatch::render::charts::{
    learning_curves, learning_curves_image, learning_curves_rgb, multi_run_image, prediction_image,
    smoothed_curve_image, ChartOptions, ImageFormat, PanelFrame, PredictionSlices, RenderError,
    RgbImage, XAxis,
};
use curvewatch::{Diagnosis, DiagnosisKind, History, Severity, Split, StopReason};

type Rgb = (u8, u8, u8);

fn distance(a: Rgb, b: Rgb) -> u32 {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y));
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// The pixel in column `col`, rows `row - reach ..= row + reach`, closest in colour to `want`.
fn closest_in_column(img: &RgbImage, col: i32, row: i32, reach: i32, want: Rgb) -> (i32, u32) {
    (row - reach..=row + reach)
        .filter_map(|r| img.pixel(col, r).map(|p| (r, distance(p, want))))
        .min_by_key(|&(_, d)| d)
        .expect("column inside the image")
}

/// Dark text-like pixels (every channel below 110) in a rectangle.
fn dark_pixels(img: &RgbImage, (x0, y0, x1, y1): (i32, i32, i32, i32)) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            if img
                .pixel(x, y)
                .is_some_and(|(r, g, b)| r < 110 && g < 110 && b < 110)
            {
                n += 1;
            }
        }
    }
    n
}

/// train/loss falls linearly 1.0 -> 0.5 over steps 1..=400; valid/loss is flat at 0.2, every 20 steps.
fn two_lines() -> History {
    let mut h = History::new();
    let t = h.key(Split::Train, "loss");
    let v = h.key(Split::Valid, "loss");
    for step in 1..=400u64 {
        h.record(
            t,
            step,
            step as f64 / 100.0,
            1.0 - (step - 1) as f64 / 798.0,
        );
        if step % 20 == 0 {
            h.record(v, step, step as f64 / 100.0, 0.2);
        }
    }
    h
}

fn small() -> ChartOptions {
    ChartOptions::new().with_size(640, 420)
}

fn loss_panel(img: &RgbImage) -> &PanelFrame {
    img.panels
        .iter()
        .find(|p| p.caption == "loss")
        .expect("a loss panel")
}

#[test]
fn train_and_valid_lines_appear_in_their_colours_where_their_values_are() {
    let img = learning_curves_image(&two_lines(), &[], None, &small()).unwrap();
    let f = loss_panel(&img);
    for step in [60.0, 150.0, 330.0] {
        let train_y = 1.0 - (step - 1.0) / 798.0;
        let (col, row) = f.to_pixel(step, train_y).unwrap();
        let (_, d) = closest_in_column(&img, col, row, 2, palette::TRAIN);
        assert!(
            d < 40,
            "train colour within 2 px of ({col}, {row}) at step {step}: off by {d}"
        );
        let (col, row) = f.to_pixel(step, 0.2).unwrap();
        let (_, d) = closest_in_column(&img, col, row, 2, palette::VALID);
        assert!(
            d < 40,
            "valid colour within 2 px of ({col}, {row}) at step {step}: off by {d}"
        );
        // Half-way between the two lines there is neither colour.
        let (_, mid) = f.to_pixel(step, (train_y + 0.2) / 2.0).unwrap();
        let (_, dt) = closest_in_column(&img, col, mid, 3, palette::TRAIN);
        let (_, dv) = closest_in_column(&img, col, mid, 3, palette::VALID);
        assert!(
            dt > 150 && dv > 150,
            "no line between the lines at step {step}: {dt} {dv}"
        );
    }
}

#[test]
fn rgb_variant_matches_the_image_and_png_has_its_signature() {
    let h = two_lines();
    let (pixels, w, h_px) = learning_curves_rgb(&h, &[], None, &small()).unwrap();
    assert_eq!((w, h_px), (640, 420));
    assert_eq!(pixels.len(), 640 * 420 * 3);
    assert_eq!(
        pixels,
        learning_curves_image(&h, &[], None, &small())
            .unwrap()
            .pixels
    );
    let png = learning_curves(&h, &[], None, &small(), ImageFormat::Png).unwrap();
    assert_eq!(&png[..8], &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(
        &png[16..24],
        &[0, 0, 2, 128, 0, 0, 1, 164],
        "640 x 420, big-endian"
    );
}

#[test]
fn svg_holds_the_title_and_axis_text() {
    let opts = small().with_title("run 7 & friends");
    let svg = learning_curves(&two_lines(), &[], None, &opts, ImageFormat::Svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
        .collect();
    assert!(
        texts.contains(&"run 7 &amp; friends"),
        "title, XML-escaped: {texts:?}"
    );
    assert!(
        texts.contains(&"step") && texts.contains(&"loss"),
        "axis descriptions: {texts:?}"
    );
}

#[test]
fn title_pixels_exist_only_with_a_title() {
    let band = (0, 0, 640, 40);
    let with = learning_curves_image(&two_lines(), &[], None, &small().with_title("Training run"))
        .unwrap();
    let without = learning_curves_image(&two_lines(), &[], None, &small()).unwrap();
    let text = dark_pixels(&with, band);
    assert!(text > 100, "a 22 px title leaves many dark pixels: {text}");
    assert_eq!(
        dark_pixels(&without, band),
        0,
        "no title, no text in the band"
    );
    // Everything below the band is identical: the title only changes its band.
    let below = 40 * 640 * 3;
    assert_eq!(with.pixels[below..], without.pixels[below..]);
}

#[test]
fn axis_labels_are_drawn_as_text() {
    let img = learning_curves_image(&two_lines(), &[], None, &small()).unwrap();
    let (l, t, r, b) = loss_panel(&img).plot;
    let under = dark_pixels(&img, (l, b + 3, r, b + 36));
    let left = dark_pixels(&img, (l - 60, t, l - 3, b));
    assert!(
        under > 40,
        "x tick labels and 'step' under the plot: {under}"
    );
    assert!(
        left > 40,
        "y tick labels and 'loss' left of the plot: {left}"
    );
    // An image of the same size with no data has no axis text there.
    let empty = learning_curves_image(&History::new(), &[], None, &small()).unwrap();
    assert!(empty.panels.is_empty());
    assert_eq!(dark_pixels(&empty, (l, b + 3, r, b + 36)), 0);
}

fn spiky(n: usize) -> History {
    let mut h = History::new();
    let t = h.key(Split::Train, "loss");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..n as u64 {
        // xorshift noise, a spike every ~1000 points, a NaN every 50 000.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        let mut v = 1.0 / (1.0 + i as f64 / 20_000.0) + 0.05 * u;
        if state % 1000 == 0 {
            v += 2.0 * u;
        }
        if i % 50_000 == 49_999 {
            v = f64::NAN;
        }
        h.record(t, i + 1, i as f64 / 10_000.0, v);
    }
    h
}

#[test]
fn decimated_chart_equals_full_chart_pixel_for_pixel_on_spiky_data() {
    // 200 000 points on a ~560 px wide plot: about 360 points per column, so M4 keeps ~1%.
    let h = spiky(200_000);
    let cases = [
        (small(), "1-px lines, step axis"),
        (
            small().with_smoothing(0.9),
            "raw faint plus 2-px smoothed line",
        ),
        (small().with_log_y(true), "log axis"),
        (
            small().with_x_axis(XAxis::Epoch),
            "epoch axis (f32 x values)",
        ),
    ];
    for (opts, why) in cases {
        let fast = learning_curves_image(&h, &[], None, &opts).unwrap();
        let full =
            learning_curves_image(&h, &[], None, &opts.clone().with_decimation(false)).unwrap();
        let differ = fast
            .pixels
            .chunks(3)
            .zip(full.pixels.chunks(3))
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differ, 0,
            "{why}: M4 on the chart's own pixel columns is exact"
        );
        assert_eq!(fast.panels, full.panels, "{why}: same axis ranges");
    }
}

#[test]
fn nan_gets_a_marker_at_the_top_of_the_plot() {
    let mut h = two_lines();
    let t = h.find(Split::Train, "loss").unwrap();
    h.record(t, 401, 4.01, f64::NAN);
    h.record(t, 402, 4.02, 0.5);
    let img = learning_curves_image(&h, &[], None, &small()).unwrap();
    let f = loss_panel(&img);
    let (col, _) = f.to_pixel(401.0, 0.5).unwrap();
    let top = f.plot.1;
    let hits = (col - 5..=col + 5)
        .flat_map(|x| (top..top + 14).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            img.pixel(x, y)
                .is_some_and(|p| distance(p, palette::NON_FINITE) < 60)
        })
        .count();
    assert!(
        hits >= 6,
        "a red cross under the top edge at step 401: {hits} red pixels"
    );
}

fn stop_at(step: u64) -> StopReason {
    let json = format!(
        r#"{{"callback":"early_stopping","rule":"patience_exhausted","message":"m","step":{step},"epoch":2}}"#
    );
    serde_json::from_str(&json).unwrap()
}

#[test]
fn annotations_mark_stop_best_and_spike() {
    let mut h = two_lines();
    let v = h.find(Split::Valid, "loss").unwrap();
    h.record(v, 420, 4.2, 0.1); // the best valid loss, at step 420
    let mut spike = Diagnosis::new(DiagnosisKind::LossSpike, Severity::Warning, "spike")
        .with_metric("train/loss")
        .with_value(0.9);
    spike.step = 100;
    let img = learning_curves_image(&h, &[spike], Some(&stop_at(300)), &small()).unwrap();
    let f = loss_panel(&img);
    let count = |x0: i32, x1: i32, y0: i32, y1: i32, c: Rgb| {
        (x0..=x1)
            .flat_map(|x| (y0..=y1).map(move |y| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y).is_some_and(|p| distance(p, c) < 60))
            .count()
    };
    let (col, _) = f.to_pixel(300.0, 0.5).unwrap();
    let stop = count(col - 1, col + 1, f.plot.1, f.plot.3 - 1, palette::STOP);
    let height = (f.plot.3 - f.plot.1) as usize;
    assert!(
        stop > height / 3,
        "dashed stop line down the plot: {stop} of {height} rows"
    );
    let (bx, by) = f.to_pixel(420.0, 0.1).unwrap();
    assert!(
        count(bx - 6, bx + 6, by - 6, by + 6, palette::BEST) >= 10,
        "ring at the best point"
    );
    let (sx, sy) = f.to_pixel(100.0, 0.9).unwrap();
    assert!(
        count(sx - 6, sx + 6, sy - 6, sy + 6, palette::SPIKE) >= 10,
        "ring at the spike"
    );
}

#[test]
fn smoothed_curve_draws_raw_faint_and_smoothed_bold() {
    let steps: Vec<f64> = (0..300).map(f64::from).collect();
    // A square wave between 0 and 1: the EMA (w = 0.95) stays near 0.5, the raw curve at 0 and 1.
    let values: Vec<f64> = steps
        .iter()
        .map(|s| f64::from((*s as u32 / 2) % 2))
        .collect();
    let img = smoothed_curve_image("loss", &steps, &values, 0.95, &small()).unwrap();
    let f = &img.panels[0];
    let raw = faint(palette::TRAIN, palette::RAW_AMOUNT);
    // Steps 202-203 hold 1, steps 204-205 hold 0; the flat parts are drawn at their rows.
    for (step, value) in [(202.5, 1.0), (204.5, 0.0)] {
        let (col, row) = f.to_pixel(step, value).unwrap();
        let (_, d) = closest_in_column(&img, col, row, 2, raw);
        assert!(
            d < 30,
            "raw line, faint, at {value} (step {step}): off by {d}"
        );
        let (_, d) = closest_in_column(&img, col, row, 2, palette::TRAIN);
        assert!(d > 100, "no full-colour pixel there: {d}");
    }
    let (col, mid) = f.to_pixel(204.5, 0.5).unwrap();
    let (_, d) = closest_in_column(&img, col, mid, 8, palette::TRAIN);
    assert_eq!(d, 0, "the smoothed line, full colour, near 0.5");
}

#[test]
fn confidence_band_is_filled_between_its_edges() {
    let steps: Vec<f64> = (0..=100).map(f64::from).collect();
    let runs: Vec<Curve> = [0.0, 0.4, 0.8]
        .iter()
        .map(|off| {
            Curve::new(
                "r",
                steps.clone(),
                steps.iter().map(|_| 1.0 + off).collect(),
            )
        })
        .collect();
    let stats = aggregate(&runs, &MultiRunOptions::new()).unwrap();
    // Mean 1.4, std 0.4, t(0.975, 2) = 4.303: CI 1.4 +- 0.9937.
    let (lo, hi) = (stats.ci_lower[50], stats.ci_upper[50]);
    assert!((hi - lo - 2.0 * 4.302_652_7 * 0.4 / 3f64.sqrt()).abs() < 1e-6);
    let img = multi_run_image("loss", &stats, &[], &small()).unwrap();
    let f = &img.panels[0];
    let band = faint(palette::TRAIN, palette::BAND_AMOUNT);
    let (col, top) = f.to_pixel(30.0, hi).unwrap();
    let (_, bottom) = f.to_pixel(30.0, lo).unwrap();
    let (_, mean) = f.to_pixel(30.0, 1.4).unwrap();
    let inside: Vec<i32> = (top + 2..bottom - 1)
        .filter(|r| (r - mean).abs() > 3)
        .collect();
    assert!(inside.len() > 50, "a tall band: {} rows", inside.len());
    for r in inside {
        assert_eq!(img.pixel(col, r), Some(band), "band colour at row {r}");
    }
    assert_ne!(img.pixel(col, top - 4), Some(band), "above the band");
    assert_ne!(img.pixel(col, bottom + 4), Some(band), "below the band");
}

#[test]
fn extrapolation_is_dashed_and_observed_part_solid() {
    let observed_steps: Vec<f64> = (0..=100).map(f64::from).collect();
    let observed_values = vec![0.5; observed_steps.len()];
    let predicted_steps: Vec<f64> = (100..=300).map(f64::from).collect();
    let predicted_values = vec![0.5; predicted_steps.len()];
    let lower = vec![0.3; predicted_steps.len()];
    let upper = vec![0.7; predicted_steps.len()];
    let input = PredictionSlices {
        name: "loss",
        observed_steps: &observed_steps,
        observed_values: &observed_values,
        predicted_steps: &predicted_steps,
        predicted_values: &predicted_values,
        lower: &lower,
        upper: &upper,
    };
    let img = prediction_image(&input, &small()).unwrap();
    let f = &img.panels[0];
    let (start, row) = f.to_pixel(110.0, 0.5).unwrap();
    let (end, _) = f.to_pixel(290.0, 0.5).unwrap();
    let on: Vec<bool> = (start..end)
        .map(|c| closest_in_column(&img, c, row, 1, palette::PREDICTED).1 < 40)
        .collect();
    let switches = on.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches >= 16,
        "dash, gap, dash...: {switches} switches over {} px",
        on.len()
    );
    let band = faint(palette::PREDICTED, palette::BAND_AMOUNT);
    let gaps_show_band = (start..end)
        .zip(&on)
        .filter(|(c, on)| !**on && closest_in_column(&img, *c, row, 1, band).1 == 0)
        .count();
    assert!(
        gaps_show_band > 30,
        "the band shows through the gaps: {gaps_show_band}"
    );
    let (o0, orow) = f.to_pixel(10.0, 0.5).unwrap();
    let (o1, _) = f.to_pixel(90.0, 0.5).unwrap();
    for c in o0..o1 {
        let d = closest_in_column(&img, c, orow, 1, palette::TRAIN).1;
        assert!(d < 40, "observed line is solid at column {c}: {d}");
    }
}

#[test]
fn log_scale_places_decades_evenly() {
    let mut h = History::new();
    let t = h.key(Split::Train, "loss");
    for step in 1..=1000u64 {
        h.record(t, step, 0.0, 10f64.powf(-(step as f64) / 250.0)); // 1 down to 1e-4
    }
    let img = learning_curves_image(&h, &[], None, &small().with_log_y(true)).unwrap();
    let f = loss_panel(&img);
    assert!(f.log_y);
    let rows: Vec<i32> = [250.0, 500.0, 750.0]
        .iter()
        .map(|s| f.to_pixel(*s, 10f64.powf(-s / 250.0)).unwrap().1)
        .collect();
    assert!(
        ((rows[1] - rows[0]) - (rows[2] - rows[1])).abs() <= 1,
        "equal decades: {rows:?}"
    );
    for (s, r) in [250.0, 500.0, 750.0].iter().zip(rows) {
        let (c, _) = f.to_pixel(*s, 1.0).unwrap();
        assert!(
            closest_in_column(&img, c, r, 2, palette::TRAIN).1 < 40,
            "line at step {s}"
        );
    }
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let h = two_lines();
    let e = learning_curves(&h, &[], None, &small().with_size(10, 10), ImageFormat::Png);
    assert!(matches!(
        e,
        Err(RenderError::InvalidSize {
            width: 10,
            height: 10
        })
    ));
    let e = learning_curves(
        &h,
        &[],
        None,
        &small().with_smoothing(f64::NAN),
        ImageFormat::Svg,
    );
    assert!(matches!(e, Err(RenderError::InvalidSmoothing { .. })));
    // All-NaN, infinite and huge values still draw.
    let mut odd = History::new();
    let k = odd.key(Split::Train, "loss");
    for (i, v) in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e308,
        -1e308,
        0.0,
    ]
    .iter()
    .enumerate()
    {
        odd.record(k, i as u64, 0.0, *v);
    }
    let k2 = odd.key(Split::Valid, "acc");
    odd.record(k2, 0, 0.0, f64::NAN);
    for log in [false, true] {
        let img = learning_curves_image(&odd, &[], None, &small().with_log_y(log)).unwrap();
        assert_eq!(img.panels.len(), 2, "log {log}");
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ChartOptions>();
    check::<RenderError>();
    check::<RgbImage>();
    check::<PanelFrame>();
    check::<curvewatch::render::decimate::Decimated>();
}
