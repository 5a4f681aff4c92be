//! Every real log in tests/data imports (see tests/data/PROVENANCE-import.md), with checks per
//! file: the format detected, the series found, their lengths, and first and last points read off
//! the files by hand (or, for the larger ones, with a separate script).

use std::path::PathBuf;

use curvewatch::import::{
    import_file, ImportFormat, ImportOptions, Imported, RestartKind, Restarts,
};
use curvewatch::Split;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn import(name: &str, restarts: Restarts) -> Imported {
    let opts = ImportOptions::default().with_restarts(restarts);
    import_file(data(name), None, &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One expected series: split, name, points, first (step, value), last (step, value).
type Want = (Split, &'static str, usize, (u64, f64), (u64, f64));

/// Every real log: file, format, number of series, and some series checked point by point.
fn expectations() -> Vec<(&'static str, ImportFormat, usize, Vec<Want>)> {
    use ImportFormat::*;
    use Split::{Train, Valid};
    vec![
        (
            "0Xero7__slm_training__lightning_logs_version_0_metrics.csv",
            LightningCsv,
            8,
            vec![
                (
                    Train,
                    "loss",
                    2814,
                    (49, 7.628580570220947),
                    (140699, 3.565943479537964),
                ),
                (
                    Train,
                    "loss_epoch",
                    10,
                    (14073, 4.776971817016602),
                    (140739, 3.687237024307251),
                ),
                (
                    Valid,
                    "loss",
                    10,
                    (14073, 4.132571697235107),
                    (140739, 3.570486068725586),
                ),
            ],
        ),
        (
            "4hmetcakmak__BraTS2020CapstoneProject__training.log",
            KerasCsv,
            11,
            vec![
                (Train, "lr", 24, (0, 0.001), (23, 1e-06)),
                (
                    Valid,
                    "loss",
                    24,
                    (0, 0.05463637784123421),
                    (23, 0.034485723823308945),
                ),
            ],
        ),
        (
            "AkshatSharma5__Brain_Tumor_Image_Classification_using_CNN__training_log.csv",
            KerasCsv,
            5,
            vec![
                (
                    Train,
                    "loss",
                    24,
                    (0, 1.1818400621414185),
                    (4, 1.0265190601348877),
                ),
                (
                    Train,
                    "lr",
                    24,
                    (0, 9.999999747378752e-05),
                    (4, 9.999999747378752e-05),
                ),
            ],
        ),
        (
            "DiogoFerreira7__LSTM-Implementation__lightning_logs_version_11_metrics.csv",
            LightningCsv,
            3,
            vec![
                (
                    Train,
                    "loss",
                    80,
                    (49, 0.15035313367843628),
                    (3999, 0.001177109545096755),
                ),
                (
                    Train,
                    "out_tensor([1.])",
                    80,
                    (49, 0.612246036529541),
                    (3999, 0.9656909704208374),
                ),
            ],
        ),
        (
            "Francis-xsc__BERT_Weibo_Rumor__trainer_state.json",
            HfTrainerState,
            2,
            vec![
                (Train, "loss", 51, (500, 0.981), (25500, 0.1636)),
                (
                    Train,
                    "lr",
                    51,
                    (500, 4.903294573643411e-05),
                    (25500, 6.007751937984496e-07),
                ),
            ],
        ),
        (
            "HCDescamps__cv-image-classification__lightning_logs_version_0_metrics.csv",
            LightningCsv,
            4,
            vec![
                (
                    Train,
                    "loss",
                    171,
                    (49, 0.634955883026123),
                    (8549, 0.021989192813634872),
                ),
                (
                    Valid,
                    "accuracy",
                    6,
                    (1718, 0.9761999845504761),
                    (8595, 0.996399998664856),
                ),
                (
                    Valid,
                    "test/loss",
                    1,
                    (8595, 0.0322248712182045),
                    (8595, 0.0322248712182045),
                ),
            ],
        ),
        (
            "HangerYang__Star__trainer_state.json",
            HfTrainerState,
            17,
            vec![
                (
                    Train,
                    "loss",
                    2000,
                    (20, 24.79317626953125),
                    (40000, 3.755987548828125),
                ),
                (Train, "lr", 2000, (20, 0.0001), (40000, 0.0001)),
                (
                    Train,
                    "acc_0",
                    2000,
                    (20, 0.040702751779823396),
                    (40000, 0.7741402881141741),
                ),
            ],
        ),
        (
            "HoseinNasiriShahraki__DeepLearning__lightning_logs_version_17_metrics.csv",
            LightningCsv,
            3,
            vec![
                (
                    Train,
                    "loss",
                    240,
                    (49, 0.7973403334617615),
                    (11999, 0.030306831002235413),
                ),
                (
                    Valid,
                    "epoch_average",
                    20,
                    (599, 0.21753203868865967),
                    (11999, 0.07728295028209686),
                ),
            ],
        ),
        (
            "Jaong__Checkpoint-of-CPT__trainer_state.json",
            HfTrainerState,
            13,
            vec![
                (Train, "loss", 10, (500, 1.1409), (5000, 0.2645)),
                (
                    Valid,
                    "loss",
                    10,
                    (549, 0.6597685217857361),
                    (5490, 0.4916660189628601),
                ),
                (
                    Valid,
                    "test/loss",
                    10,
                    (549, 0.6476863622665405),
                    (5490, 0.4661196768283844),
                ),
                (Valid, "rouge-1", 10, (549, 46.5406), (5490, 51.2775)),
            ],
        ),
        (
            "Jayant-Guru-Shrivastava__ERAV4-Session11-shakespeare-gpt2-124M__logs_train.log",
            PlainCsv,
            1,
            vec![(Train, "loss", 457, (10, 8.460716), (4570, 0.128361))],
        ),
        (
            "Mehak-Thakur__Emotion-detection-system__training_history.csv",
            KerasCsv,
            4,
            vec![
                (
                    Valid,
                    "loss",
                    30,
                    (0, 1.8521664465467136),
                    (29, 1.7210497483611107),
                ),
                (
                    Train,
                    "acc",
                    30,
                    (0, 52.86390339425587),
                    (29, 87.00228459530027),
                ),
            ],
        ),
        (
            "Mohammed20201991__DataSets__trainer_state.json",
            HfTrainerState,
            5,
            vec![
                (Train, "loss", 4, (500, 0.5516), (2000, 0.1984)),
                (
                    Valid,
                    "wer",
                    4,
                    (500, 17.79562559983836),
                    (2000, 12.726675758953377),
                ),
            ],
        ),
        (
            "SeanGormann__llm_recovery__checkpoint-1000_trainer_state.json",
            HfTrainerState,
            11,
            vec![
                (Train, "loss", 20, (50, 0.6691), (1000, 0.1138)),
                (
                    Train,
                    "rewards/margins",
                    20,
                    (50, 0.05010237544775009),
                    (1000, 4.374284744262695),
                ),
            ],
        ),
        (
            "SiddanthEmani__GPT-2-124M-CUDA__log124M_main.log",
            PlainText,
            5,
            vec![
                (Train, "loss", 19552, (0, 11.0116), (19551, 3.2813)),
                (Train, "grad_norm", 19552, (0, 14.96), (19551, 0.23)),
                (Valid, "loss", 80, (0, 11.0095), (19552, 3.2731)),
                (Valid, "eval", 79, (250, 0.2437), (19552, 0.3054)),
            ],
        ),
        (
            "aigoncharov__trainer_state_viz__trainer_state.json",
            HfTrainerState,
            15,
            vec![
                (Train, "loss", 30, (401, 1.1074), (12030, 0.0549)),
                (
                    Valid,
                    "g0/loss",
                    31,
                    (0, 5.741583347320557),
                    (12030, 2.7486727237701416),
                ),
                (
                    Valid,
                    "g5/accuracy",
                    31,
                    (0, 0.18204488778054864),
                    (12030, 0.2518703241895262),
                ),
            ],
        ),
        (
            "akawslearn-ai__slm_training__metrics.jsonl",
            JsonLines,
            4,
            vec![
                (
                    Train,
                    "loss",
                    398,
                    (20, 8.560446739196777),
                    (7760, 2.2009329944849014),
                ),
                (
                    Train,
                    "lr",
                    398,
                    (20, 2.9884415999999995e-05),
                    (7760, 6.000920772900043e-05),
                ),
            ],
        ),
        (
            "anonymousgigachad__llm-training__trainer_state.json",
            HfTrainerState,
            3,
            vec![
                (Train, "loss", 4, (10, 8.3368), (40, 0.427)),
                (
                    Train,
                    "grad_norm",
                    4,
                    (10, 47.77210235595703),
                    (40, 0.47934144735336304),
                ),
            ],
        ),
        (
            "fmohr__lcdb__publications_2023-neurips_experiments_results.csv",
            LcdbResults,
            6,
            vec![
                (Train, "accuracy", 1600, (16, 0.5), (2556, 0.97183)),
                (Valid, "loss", 1600, (16, 0.52188), (2556, 0.03438)),
            ],
        ),
        (
            "leopoldmaillard__cnn-landmarks-aflw2000__history.csv",
            KerasCsv,
            2,
            vec![
                (
                    Train,
                    "loss",
                    20,
                    (0, 0.00874660536646843),
                    (19, 0.00048966018948704),
                ),
                (
                    Valid,
                    "loss",
                    20,
                    (0, 0.0013500623172149062),
                    (19, 0.00048672218690626323),
                ),
            ],
        ),
        (
            "prestonfrost__AI-Project__checkpoint-10000_trainer_state.json",
            HfTrainerState,
            3,
            vec![(Train, "loss", 100, (100, 3.2779), (10000, 0.2181))],
        ),
        (
            "sliderSun__chinese_pytorch_pretrain_lm__output_trainer_state.json",
            HfTrainerState,
            0,
            vec![],
        ),
        (
            "suzushi-tw__luojiu-7b-base__trainer_log.jsonl",
            JsonLines,
            2,
            vec![
                (Train, "loss", 1742, (5, 1.7484), (8710, 1.3703)),
                (
                    Train,
                    "lr",
                    1742,
                    (5, 4.999995936372264e-05),
                    (8710, 2.60072200469752e-11),
                ),
            ],
        ),
    ]
}

#[test]
fn every_real_log_imports_with_its_series() {
    for (file, format, n_series, wants) in expectations() {
        let imp = import(file, Restarts::KeepAll);
        assert_eq!(imp.format, format, "{file}: format");
        assert!(imp.detected, "{file}: the format was detected");
        assert_eq!(imp.history.len(), n_series, "{file}: series count");
        for (split, name, len, first, last) in wants {
            let s = imp
                .history
                .get(split, name)
                .unwrap_or_else(|| panic!("{file}: no {split}/{name}"));
            let n = s.len();
            assert_eq!(n, len, "{file}: {split}/{name} length");
            assert_eq!(
                (s.steps()[0], s.values()[0]),
                first,
                "{file}: {split}/{name} first"
            );
            assert_eq!(
                (s.steps()[n - 1], s.values()[n - 1]),
                last,
                "{file}: {split}/{name} last"
            );
        }
    }
}

#[test]
fn the_expectations_cover_every_file_in_tests_data() {
    let listed: Vec<&str> = expectations().iter().map(|e| e.0).collect();
    for entry in std::fs::read_dir(data("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".md") {
            assert!(
                listed.contains(&name.as_str()),
                "{name} has no expectations"
            );
        }
    }
}

#[test]
fn every_policy_imports_every_file_consistently() {
    for (file, ..) in expectations() {
        let all = import(file, Restarts::KeepAll);
        let seg = import(file, Restarts::Segments);
        let last = import(file, Restarts::KeepLast);
        let seg_points: usize = seg.segments.iter().map(|s| s.history.points()).sum();
        assert_eq!(
            seg_points,
            all.history.points(),
            "{file}: segments cover every point"
        );
        assert_eq!(
            seg.segments.len(),
            all.restarts.len() + 1,
            "{file}: one segment per run"
        );
        for (_, s) in last.history.iter() {
            let increasing = s.steps().windows(2).all(|w| w[0] < w[1]);
            assert!(
                increasing,
                "{file}: keep-last {}/{} steps increase",
                s.split(),
                s.name()
            );
        }
        if all.restarts.is_empty() {
            assert_eq!(
                last.history, all.history,
                "{file}: without restarts the policies agree"
            );
        }
    }
}

#[test]
fn aigoncharov_overfits_eval_loss_rises_late_while_train_loss_falls() {
    let imp = import(
        "aigoncharov__trainer_state_viz__trainer_state.json",
        Restarts::KeepAll,
    );
    let train = imp.history.get(Split::Train, "loss").unwrap();
    assert!(
        train.last().unwrap() < train.values()[0] / 10.0,
        "train loss falls tenfold"
    );
    let val = imp.history.get(Split::Valid, "g0/loss").unwrap();
    let (best_index, best_step, best) = val.min().unwrap();
    assert_eq!((best_index, best_step, best), (1, 401, 1.113750696182251));
    assert!(
        val.last().unwrap() > 2.0 * best,
        "eval loss ends more than twice its best"
    );
    assert!(
        imp.skipped.iter().any(|s| s == "eval_g0_runtime"),
        "timing keys are listed"
    );
}

#[test]
fn akawslearn_restarts_are_flagged_and_resolved() {
    let file = "akawslearn-ai__slm_training__metrics.jsonl";
    let all = import(file, Restarts::KeepAll);
    let lines: Vec<Option<usize>> = all.restarts.iter().map(|r| r.at.line).collect();
    assert_eq!(lines, [Some(2), Some(4), Some(383), Some(386)]);
    assert_eq!(
        all.restarts[2].kind,
        RestartKind::Rewind {
            series: "train/loss".into(),
            step: 7520,
            previous_step: 7580
        }
    );
    let last = import(file, Restarts::KeepLast);
    let loss = last.history.get(Split::Train, "loss").unwrap();
    assert_eq!(loss.len(), 388, "10 superseded points dropped");
    assert_eq!(
        (loss.steps()[0], loss.values()[0]),
        (20, 8.552507877349854),
        "third write of step 20"
    );
    let seg = import(file, Restarts::Segments);
    let sizes: Vec<usize> = seg
        .segments
        .iter()
        .map(|s| s.history.get(Split::Train, "loss").unwrap().len())
        .collect();
    assert_eq!(sizes, [1, 2, 379, 3, 13]);
}

#[test]
fn keras_runs_appended_in_one_file_become_segments() {
    let file = "AkshatSharma5__Brain_Tumor_Image_Classification_using_CNN__training_log.csv";
    let seg = import(file, Restarts::Segments);
    let starts: Vec<Option<usize>> = seg.segments.iter().map(|s| s.start.line).collect();
    assert_eq!(starts, [Some(2), Some(7), Some(11), Some(21)]);
    let sizes: Vec<usize> = seg
        .segments
        .iter()
        .map(|s| s.history.points() / 5)
        .collect();
    assert_eq!(sizes, [5, 4, 10, 5]);
    let last = import(file, Restarts::KeepLast);
    let loss = last.history.get(Split::Train, "loss").unwrap();
    assert_eq!(
        loss.values(),
        &[
            1.245796799659729,
            1.1283830404281616,
            1.0746705532073975,
            1.0528093576431274,
            1.0265190601348877
        ],
        "the last run wins"
    );
}

#[test]
fn lcdb_rows_are_curves_whose_last_valid_accuracy_is_the_objective() {
    let file = "fmohr__lcdb__publications_2023-neurips_experiments_results.csv";
    let text = std::fs::read_to_string(data(file)).unwrap();
    // `objective` is the 12th column, before any quoted field: a plain split finds it.
    let objectives: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(11).unwrap().parse().unwrap())
        .collect();
    let seg = import(file, Restarts::Segments);
    assert_eq!(seg.segments.len(), 100);
    assert_eq!(seg.segments[0].label.as_deref(), Some("job_id=1"));
    for (i, s) in seg.segments.iter().enumerate() {
        let acc = s.history.get(Split::Valid, "accuracy").unwrap();
        assert_eq!(acc.steps()[0], 16, "row {i}: first anchor");
        assert_eq!(acc.steps()[15], 2556, "row {i}: last anchor");
        assert_eq!(acc.last(), Some(objectives[i]), "row {i}");
    }
    assert!(
        seg.skipped.iter().any(|s| s == "p:C"),
        "hyperparameters are listed as skipped"
    );
}

#[test]
fn summaries_and_predict_rows_of_hf_states() {
    let only = import(
        "sliderSun__chinese_pytorch_pretrain_lm__output_trainer_state.json",
        Restarts::KeepAll,
    );
    let loss = only
        .summary
        .iter()
        .find(|s| s.name == "train_loss")
        .unwrap();
    assert_eq!((loss.step, loss.value), (Some(78), 9.087151943108974));
    assert!(only
        .warnings
        .iter()
        .any(|w| w.message.contains("only an end-of-training summary")));
    let jaong = import(
        "Jaong__Checkpoint-of-CPT__trainer_state.json",
        Restarts::KeepAll,
    );
    assert!(jaong
        .warnings
        .iter()
        .any(|w| w.message.contains("without `step`")));
    assert!(jaong
        .summary
        .iter()
        .any(|s| s.name == "train_runtime" && s.value == 64358.151));
}

#[test]
fn percentages_written_as_numbers_are_flagged() {
    let imp = import(
        "Mehak-Thakur__Emotion-detection-system__training_history.csv",
        Restarts::KeepAll,
    );
    assert!(imp
        .warnings
        .iter()
        .any(|w| w.message.contains("train/acc") && w.message.contains("percentage")));
}

/// Peak resident memory (VmHWM) and current memory (VmRSS) of this process, in bytes.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time this thread has run, in nanoseconds (first field of /proc/thread-self/schedstat): a
/// timing that other processes on a busy machine do not inflate.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Imports a generated million-row log of each line format and reports time and peak memory
/// relative to the file size. Run with
/// `cargo test --release --test import_real -- --ignored --nocapture`.
#[test]
#[ignore]
fn a_million_rows_import_in_well_under_a_second() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("cw-import-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = 1_000_000u64;
    type Line = fn(u64, f64) -> String;
    let shapes: [(&str, &str, Line); 4] = [
        ("metrics.csv", "step,loss,lr\n", |i, x| {
            format!("{i},{x:.6},{:.3e}\n", 3e-4 * x)
        }),
        (
            "lightning.csv",
            "epoch,step,train_loss,val_loss\n",
            |i, x| {
                if i % 100 == 99 {
                    format!("{},{i},,{x:.6}\n", i / 1000)
                } else {
                    format!("{},{i},{x:.6},\n", i / 1000)
                }
            },
        ),
        ("metrics.jsonl", "", |i, x| {
            format!(
                "{{\"step\": {i}, \"loss\": {x:.6}, \"lr\": {:.3e}}}\n",
                3e-4 * x
            )
        }),
        ("main.log", "", |i, x| {
            format!("s:{i} trl:{x:.4} lr:{:.6} norm:0.25\n", 3e-4 * x)
        }),
    ];
    for (name, header, line) in shapes {
        let path = dir.join(name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        out.write_all(header.as_bytes()).unwrap();
        for i in 0..n {
            let x = 2.0 + 8.0 / (1.0 + i as f64 / 1000.0) + 0.01 * ((i * 7919) % 100) as f64;
            out.write_all(line(i, x).as_bytes()).unwrap();
        }
        drop(out);
        let size = std::fs::metadata(&path).unwrap().len();
        let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM to VmRSS
        let before = memory();
        let (start, cpu0) = (std::time::Instant::now(), cpu_ns());
        let imp = import_file(&path, None, &ImportOptions::default()).unwrap();
        let (took, cpu1) = (start.elapsed(), cpu_ns());
        let cpu = cpu0
            .zip(cpu1)
            .map(|(a, b)| std::time::Duration::from_nanos(b - a));
        let after = memory();
        let points = imp.history.points();
        assert!(points >= n as usize, "{name}: {points} points");
        let peak = match (before, after) {
            (Some((_, rss0)), Some((hwm, _))) => {
                format!("{:.2}x file size", (hwm - rss0) as f64 / size as f64)
            }
            _ => "n/a".to_owned(),
        };
        println!(
            "{name}: {} MB, {n} rows, {points} points, {:?}: wall {took:.0?}, CPU {cpu:.0?}, \
             peak memory above baseline {peak}",
            size / 1_000_000,
            imp.format
        );
        drop(imp);
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let big = data("HangerYang__Star__trainer_state.json");
    let (start, cpu0) = (std::time::Instant::now(), cpu_ns());
    let imp = import_file(&big, None, &ImportOptions::default()).unwrap();
    let cpu = cpu0
        .zip(cpu_ns())
        .map(|(a, b)| std::time::Duration::from_nanos(b - a));
    println!(
        "HangerYang trainer_state.json (1.5 MB, {} points): wall {:.1?}, CPU {cpu:.1?}",
        imp.history.points(),
        start.elapsed()
    );
}
