//! Free-form text logs, read by a tolerant line parser.
//!
//! A line yields `name value` pairs: a name is the word(s) before a number, joined to it by spaces,
//! `:` or `=` (`loss 2.31`, `loss: 2.31`, `loss=2.31`, `trl:4.2`); `|`, `,`, `;`, brackets and a
//! lone ` - ` separate pairs. Numbers may carry a unit (`31ms`, `3/10`, `45it/s`, ignored) or `%`
//! (divided by 100, with a warning); `nan` and `inf` are values. A split word before the name is
//! kept (`train loss` → train `loss`, `val loss` → valid `loss`), and so are `learning rate` and
//! `grad norm`. Each line is one record, with its step from, in order:
//! 1. a step pair: `step`, `iter`, `iteration`, `it`, `global_step`, `batch`, or llm.c's `s`;
//! 2. the current epoch, from `Epoch 3/10` (a Keras console line, or an `epoch` pair on the line):
//!    then only the last line of each epoch counts (progress lines repeat);
//! 3. a whole number that starts the line (`0 train 10.95`, build-nanogpt's `log.txt`).
//!
//! Lines without any of these are ignored as noise, unless the whole file has no step at all: then
//! every line with pairs is a record, numbered from 0 (with a warning). A line of names only
//! (`step loss`) is a header: the lines of numbers after it are columns under those names; lines of
//! numbers without a header are a step and columns `col2`, `col3`... The llm.c shorthand is
//! understood: `trl` train loss, `tel` valid loss, `norm` grad norm, `eval` valid `eval` (llm.c
//! writes HellaSwag accuracy there); a bare split word is that split's loss (`val 3.2`).

use std::io::BufRead;

use super::builder::{Builder, Pos};
use super::error::ImportError;
use super::lines::LineReader;
use super::names::{is_epoch_key, step_rank};
use super::value::step_from_f64;

mod tokens;

use tokens::{classify, pair_name, tokens, Tok};

/// A name/value pair of a line, the name interned in the builder.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pair {
    id: usize,
    value: f64,
    percent: bool,
}

/// What a line holds.
#[derive(Default)]
struct Line {
    pairs: Vec<Pair>,
    bare: Vec<f64>,
    leading_int: Option<u64>,
    words: Vec<String>,
    only_words: bool,
}

/// What a name is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Step,
    Epoch,
    Metric,
}

/// A line with metrics, and where its step may come from.
struct Found {
    line: usize,
    consumed: u64,
    step: Option<u64>,
    metrics: Vec<Pair>,
    leading: Option<u64>,
}

/// A record waiting for the end of its epoch.
struct Held {
    line: usize,
    step: u64,
    epoch: f64,
    pairs: Vec<Pair>,
}

#[derive(Default)]
struct State {
    roles: Vec<Option<Role>>,
    epoch: Option<f64>,
    header: Option<Vec<usize>>,
    held: Option<Held>,
    stepless: Vec<(usize, Vec<Pair>)>,
    stepped: bool,
    name: String,
    /// A cleared vector of pairs, reused from line to line.
    spare: Vec<Pair>,
}

/// Reads every line into `b`.
pub(crate) fn import<R: BufRead>(
    mut lines: LineReader<R>,
    b: &mut Builder<'_>,
) -> Result<(), ImportError> {
    let mut st = State::default();
    let mut parsed = Line::default();
    loop {
        let line_no = lines.line_no() + 1;
        let consumed = lines.consumed();
        let Some(text) = lines.next_line()? else {
            break;
        };
        let text = last_redraw(text);
        parse_line(text, b, &mut st.name, &mut parsed);
        st.handle(line_no, consumed, &mut parsed, b);
    }
    st.flush(b);
    if !st.stepped && !st.stepless.is_empty() {
        b.warn(
            None,
            "no step found (step, iter, s:, Epoch N/M); records are numbered from 0 in line order"
                .to_owned(),
        );
        for (i, (line, pairs)) in std::mem::take(&mut st.stepless).into_iter().enumerate() {
            b.begin(Pos::Line(line), 0);
            emit(b, &pairs, i as u64, 0.0);
        }
    }
    Ok(())
}

/// Progress bars redraw with `\r` or backspaces; the text after the last one is what was shown.
fn last_redraw(line: &str) -> &str {
    let redraw = |b: &u8| *b == b'\r' || *b == 8;
    let Some(cut) = line.as_bytes().iter().rposition(redraw) else {
        return line;
    };
    let shown = &line[cut + 1..];
    if shown.trim().is_empty() {
        line.trim_end_matches(['\r', '\u{8}'])
            .rsplit(['\r', '\u{8}'])
            .next()
            .unwrap_or("")
    } else {
        shown
    }
}

impl State {
    fn role(&mut self, b: &Builder<'_>, id: usize) -> Role {
        if self.roles.len() <= id {
            self.roles.resize(id + 1, None);
        }
        *self.roles[id].get_or_insert_with(|| {
            let n = b.raw(id);
            if step_rank(n).is_some() || n == "s" {
                Role::Step
            } else if is_epoch_key(n) {
                Role::Epoch
            } else {
                Role::Metric
            }
        })
    }

    fn handle(&mut self, line: usize, consumed: u64, l: &mut Line, b: &mut Builder<'_>) {
        if l.only_words && l.words.len() >= 2 {
            let ids = l.words.iter().map(|w| b.intern(alias(w))).collect();
            self.header = Some(ids);
            return;
        }
        if l.pairs.is_empty() && l.bare.len() >= 2 {
            self.columns(l, b);
        }
        let (mut step, mut epoch) = (None, None);
        let mut metrics = std::mem::take(&mut self.spare);
        metrics.clear();
        for &p in &l.pairs {
            match self.role(b, p.id) {
                Role::Step if step.is_none() => step = step_from_f64(p.value),
                Role::Epoch if epoch.is_none() => epoch = Some(p.value),
                Role::Metric => metrics.push(p),
                _ => {}
            }
        }
        if epoch.is_some() && metrics.is_empty() && step.is_none() {
            self.flush(b);
            self.epoch = epoch;
            self.spare = metrics;
            return;
        }
        if metrics.is_empty() {
            self.spare = metrics;
            return;
        }
        if epoch.is_some() {
            self.epoch = epoch;
        }
        let leading = l.leading_int;
        let found = Found {
            line,
            consumed,
            step,
            metrics,
            leading,
        };
        self.place(found, b);
    }

    /// Numbers under a header, or a step and `colN` columns.
    fn columns(&mut self, l: &mut Line, b: &mut Builder<'_>) {
        match &self.header {
            Some(ids) if ids.len() == l.bare.len() => {
                l.pairs = ids
                    .iter()
                    .zip(&l.bare)
                    .map(|(&id, &value)| Pair {
                        id,
                        value,
                        percent: false,
                    })
                    .collect();
            }
            _ if l.leading_int.is_some() => {
                for (i, &value) in l.bare.iter().enumerate().skip(1) {
                    let id = b.intern(&format!("col{}", i + 1));
                    l.pairs.push(Pair {
                        id,
                        value,
                        percent: false,
                    });
                }
            }
            _ => {}
        }
    }

    /// Records a line with metrics, or holds it until its epoch ends, or keeps it for a file
    /// without steps.
    fn place(&mut self, found: Found, b: &mut Builder<'_>) {
        let whole_epoch = self.epoch.filter(|e| *e >= 0.0 && e.fract() == 0.0);
        if let Some(s) = found.step {
            let e = self.epoch.unwrap_or(0.0);
            if self.epoch.is_some() {
                b.epochs_known();
            }
            self.record_now(found, s, e, b);
        } else if let Some(e) = whole_epoch {
            let s = e as u64;
            if self.held.as_ref().is_some_and(|h| h.step != s) {
                self.flush(b);
            }
            let (line, pairs) = (found.line, found.metrics);
            self.held = Some(Held {
                line,
                step: s,
                epoch: e,
                pairs,
            });
        } else if let Some(s) = found.leading {
            self.record_now(found, s, 0.0, b);
        } else if !self.stepped {
            self.stepless.push((found.line, found.metrics));
        }
    }

    fn record_now(&mut self, found: Found, step: u64, epoch: f64, b: &mut Builder<'_>) {
        self.flush(b);
        self.stepped = true;
        b.begin(Pos::Line(found.line), found.consumed);
        emit(b, &found.metrics, step, epoch);
        self.spare = found.metrics;
    }

    fn flush(&mut self, b: &mut Builder<'_>) {
        if let Some(h) = self.held.take() {
            self.stepped = true;
            b.epochs_known();
            b.begin(Pos::Line(h.line), 0);
            emit(b, &h.pairs, h.step, h.epoch);
        }
    }
}

fn emit(b: &mut Builder<'_>, pairs: &[Pair], step: u64, epoch: f64) {
    for p in pairs {
        b.push_raw(p.id, step, epoch, p.value);
        if p.percent {
            let raw = b.raw(p.id).to_owned();
            b.note(&format!("text:percent:{raw}"), || {
                format!("`{raw}` is written as a percentage; values were divided by 100")
            });
        }
    }
}

/// llm.c's shorthand and bare split words, as names the shared mapping understands.
fn alias(name: &str) -> &str {
    match name {
        "trl" | "train" | "training" => "train_loss",
        "tel" | "val" | "valid" | "validation" => "val_loss",
        "test" => "test_loss",
        "norm" => "grad_norm",
        "eval" => "val_eval",
        "hella" => "val_hellaswag",
        other => other,
    }
}

/// Splits a line into tokens and collects its pairs, bare numbers and (for a line of names only)
/// its words. Only the last two words before a number can name it, so no word list is kept.
fn parse_line(text: &str, b: &mut Builder<'_>, name: &mut String, out: &mut Line) {
    out.pairs.clear();
    out.bare.clear();
    out.words.clear();
    out.leading_int = None;
    let mut last: [&str; 2] = ["", ""];
    let (mut run, mut numbers, mut words, mut first) = (0usize, 0usize, 0usize, true);
    for tok in tokens(text) {
        match classify(tok) {
            Tok::Word(w) => {
                last = [last[1], w];
                run += 1;
                words += 1;
            }
            Tok::Num {
                value,
                percent,
                int,
            } => {
                numbers += 1;
                if run == 0 {
                    if first && int {
                        out.leading_int = step_from_f64(value);
                    }
                    out.bare.push(value);
                } else {
                    pair_name(&last[2 - run.min(2)..], name);
                    let id = b.intern_at(out.pairs.len(), alias(name));
                    out.pairs.push(Pair { id, value, percent });
                    run = 0;
                }
            }
            Tok::Sep => run = 0,
        }
        first = false;
    }
    out.only_words = numbers == 0 && words > 0;
    if out.only_words {
        let all = tokens(text).filter_map(|t| match classify(t) {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        });
        out.words.extend(all);
    }
}

#[cfg(test)]
mod tests;
