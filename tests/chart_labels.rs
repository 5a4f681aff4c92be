//! Text on the learning-curve charts never overlaps: annotation labels, legend entries, tick labels and
//! captions are read back from the SVG (position, anchor and font size of every `<text>`), turned into
//! boxes, and checked pairwise. Crowded charts drop labels with a `+N more` count instead of stacking
//! them.

use curvewatch::render::charts::{learning_curves, ChartOptions, ImageFormat};
use curvewatch::{Diagnosis, DiagnosisKind, Episode, History, Severity, Split};

/// A text element of the SVG as a box in pixels.
#[derive(Debug, Clone)]
struct TextBox {
    text: String,
    l: f64,
    t: f64,
    r: f64,
    b: f64,
}

impl TextBox {
    fn overlaps(&self, o: &TextBox) -> bool {
        self.l < o.r && o.l < self.r && self.t < o.b && o.t < self.b
    }
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')?;
    Some(tag[start..start + end].to_owned())
}

/// Width of a character in DejaVu Sans, in em, rounded up from the font's advance widths.
fn advance(c: char) -> f64 {
    match c {
        '0'..='9' => 0.64,
        ' ' => 0.32,
        '.' | ',' | ':' | '(' | ')' | '/' | '-' => 0.4,
        'i' | 'l' | 'j' | 't' | 'f' | 'r' => 0.4,
        'm' | 'w' | 'M' | 'W' | '×' => 0.92,
        'A'..='Z' => 0.72,
        _ => 0.62,
    }
}

/// Every unrotated `<text>` of `svg` as a box: advance widths of its characters, height 1 em placed
/// by the `dy` plotters writes for the anchor.
fn text_boxes(svg: &str) -> Vec<TextBox> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text ") {
        let after = &rest[i..];
        let tag_end = after.find('>').expect("tag ends");
        let tag = &after[..tag_end];
        let close = after.find("</text>").expect("text closes");
        let text = after[tag_end + 1..close].trim().to_owned();
        rest = &after[close..];
        if tag.contains("transform=") || text.is_empty() {
            continue; // rotated axis descriptions run along the axis, outside every plot
        }
        let num = |n: &str| attr(tag, n).and_then(|v| v.parse::<f64>().ok());
        let (x, y, size) = (
            num("x").unwrap(),
            num("y").unwrap(),
            num("font-size").unwrap(),
        );
        let width = size * text.chars().map(advance).sum::<f64>();
        let l = match attr(tag, "text-anchor").as_deref() {
            Some("middle") => x - width / 2.0,
            Some("end") => x - width,
            _ => x,
        };
        let t = match attr(tag, "dy").as_deref() {
            Some("0.76em") => y,
            Some("0.5ex") => y - size / 2.0,
            Some("-0.5ex") => y - size,
            _ => y - 0.8 * size,
        };
        out.push(TextBox {
            text,
            l,
            t,
            r: l + width,
            b: t + size,
        });
    }
    out
}

fn diag(kind: DiagnosisKind, step: u64, metric: &str) -> Diagnosis {
    let mut d = Diagnosis::new(kind, Severity::Warning, "test").with_metric(metric);
    d.step = step;
    d
}

fn episode(start: u64, end: u64, count: u32) -> Episode {
    let mut e = Episode::at(start);
    e.end_step = end;
    e.count = count;
    e
}

/// A crowded run: train, epoch mean and six evaluation sets of the loss, accuracy, a grad norm with
/// spikes, a NaN, and diagnoses piled on the same few steps.
fn crowded() -> (History, Vec<Diagnosis>) {
    let mut h = History::new();
    let loss = h.key(Split::Train, "loss");
    let gn = h.key(Split::Train, "grad_norm");
    let lr = h.key(Split::Train, "lr");
    let mut state = 7u64;
    for step in 1..=3000u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        let t = step as f64;
        let l = if step == 1500 {
            f64::NAN
        } else {
            0.3 + 2.0 / (1.0 + t / 200.0) + 0.1 * u
        };
        h.record(loss, step, t / 300.0, l);
        let g = if step % 97 == 0 { 8.0 } else { 1.0 + 0.3 * u };
        h.record(gn, step, t / 300.0, g);
        h.record(lr, step, t / 300.0, 1e-3 * (1.0 - t / 3000.0) + 1e-5);
    }
    let epoch_loss = h.key(Split::Train, "epoch_loss");
    for e in 1..=10u64 {
        h.record(
            epoch_loss,
            e * 300,
            e as f64,
            0.3 + 2.0 / (1.0 + e as f64 * 1.5),
        );
    }
    for g in 0..6 {
        let k = h.key(Split::Valid, &format!("g{g}/loss"));
        let a = h.key(Split::Valid, &format!("g{g}/accuracy"));
        for e in 1..=10u64 {
            let x = e as f64;
            h.record(
                k,
                e * 300,
                x,
                0.6 + 0.1 * g as f64 + 0.02 * (x - 4.0).powi(2),
            );
            h.record(
                a,
                e * 300,
                x,
                0.5 + 0.03 * g as f64 - 0.01 * (x - 4.0).abs(),
            );
        }
    }
    let mut d = vec![
        diag(DiagnosisKind::Overfitting, 1500, "valid/g0/loss")
            .with_episode(episode(1200, 3000, 6)),
        diag(DiagnosisKind::GeneralizationGap, 1200, "valid/g1/loss")
            .with_episode(episode(900, 3000, 7)),
        diag(DiagnosisKind::Plateau, 2400, "train/loss").with_episode(episode(1300, 2400, 4)),
        diag(DiagnosisKind::NonFinite, 1500, "train/loss"),
        diag(DiagnosisKind::EarlyStop, 2700, "valid/g0/loss").with_evidence("best_step", 1200.0),
    ];
    for s in (97..3000).step_by(97) {
        d.push(diag(DiagnosisKind::GradNormSpike, s, "train/grad_norm").with_value(8.0));
    }
    for s in [1210u64, 1230, 1250] {
        d.push(diag(DiagnosisKind::LossSpike, s, "train/loss").with_value(2.5));
    }
    (h, d)
}

#[test]
fn no_two_texts_overlap_and_crowded_labels_are_counted() {
    let (h, d) = crowded();
    for (w, hgt) in [(1200, 800), (900, 600), (640, 420)] {
        let opts = ChartOptions::new().with_size(w, hgt).with_title("crowded");
        let svg = learning_curves(&h, &d, None, &opts, ImageFormat::Svg).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        let boxes = text_boxes(&svg);
        assert!(boxes.len() > 20, "{w}x{hgt}: texts read: {}", boxes.len());
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!a.overlaps(b), "{w}x{hgt}: {a:?} overlaps {b:?}");
            }
        }
        let texts: Vec<&str> = boxes.iter().map(|b| b.text.as_str()).collect();
        let has = |s: &str| texts.iter().any(|t| t.starts_with(s));
        assert!(
            has("valid g5/loss") || (w < 1200 && has("+")),
            "{w}x{hgt}: every evaluation set in the loss legend, or a count of those left out"
        );
        assert!(
            has("train epoch_loss") || (w < 1200 && has("+")),
            "{w}x{hgt}: the epoch mean on the loss panel"
        );
        let labels = [
            "overfitting",
            "generalization gap",
            "plateau",
            "non-finite",
            "spike",
            "NaN",
        ];
        let shown = labels.iter().filter(|l| has(l)).count();
        let more: usize = texts
            .iter()
            .filter_map(|t| {
                t.strip_prefix('+')?
                    .strip_suffix(" more")?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        assert!(
            (shown >= 3 || w < 900) && shown + more >= labels.len() - 1,
            "{w}x{hgt}: labels shown {shown}, counted {more}: {texts:?}"
        );
    }
}

#[test]
fn tick_labels_of_a_narrow_range_read_differently() {
    let mut h = History::new();
    let k = h.key(Split::Train, "scale");
    for step in 1..=50u64 {
        h.record(k, step, 0.0, 1e-5 + 4e-7 * (step % 3) as f64);
    }
    let svg = learning_curves(&h, &[], None, &ChartOptions::new(), ImageFormat::Svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    let ticks: Vec<String> = text_boxes(&svg)
        .into_iter()
        .filter(|b| b.text.contains("e-"))
        .map(|b| b.text)
        .collect();
    assert!(ticks.len() >= 2, "{ticks:?}");
    let mut unique = ticks.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ticks.len(), "distinct: {ticks:?}");
}

/// No text overlaps on the charts of the real logs either (every one in tests/data but the LCDB
/// dataset, which is many runs rather than one), at the default size and a small one.
#[test]
fn real_logs_chart_without_overlapping_text() {
    use curvewatch::import::{import_file, ImportOptions};
    let mut logs: Vec<String> =
        std::fs::read_dir(format!("{}/tests/data", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".md") && !n.contains("lcdb"))
            .collect();
    logs.sort();
    for log in &logs {
        let path = format!("{}/tests/data/{log}", env!("CARGO_MANIFEST_DIR"));
        let imported = import_file(&path, None, &ImportOptions::default()).unwrap();
        let report = curvewatch::report::analyze(&imported.history).unwrap();
        let stop = report.summary.stop.as_ref();
        for (w, hgt) in [(1200, 800), (800, 500)] {
            let opts = ChartOptions::new()
                .with_size(w, hgt)
                .with_title(log.as_str());
            let svg = learning_curves(
                &imported.history,
                &report.diagnoses,
                stop,
                &opts,
                ImageFormat::Svg,
            )
            .unwrap();
            let boxes = text_boxes(&String::from_utf8(svg).unwrap());
            for (i, a) in boxes.iter().enumerate() {
                for b in &boxes[i + 1..] {
                    assert!(!a.overlaps(b), "{log} {w}x{hgt}: {a:?} overlaps {b:?}");
                }
            }
        }
    }
}
