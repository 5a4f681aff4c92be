//! The corpus (a short original text shipped beside this file), the character-level LSTM, and the
//! [`Task`] the loop trains: random windows of the text per step, fixed held-out windows to validate.

use curvewatch_tch::{Task, TchError};
use tch::nn::{self, Module, RNN};
use tch::{Device, Kind, Tensor};

/// The text the model learns (about 3.6 KB of plain English).
pub const TEXT: &str = include_str!("curves.txt");
/// Characters per training sequence (the model predicts each next one).
pub const SEQ: i64 = 48;
/// Sequences per step.
pub const BATCH: i64 = 16;
const EMBED: i64 = 32;
const HIDDEN: i64 = 96;
/// Share of the text held out for validation (its end).
const VALID_SHARE: f64 = 0.1;

/// Character vocabulary and the encoded text.
pub struct Corpus {
    chars: Vec<char>,
    train: Tensor,
    valid: Tensor,
}

impl Corpus {
    /// Encodes `text`: one id per distinct character, in sorted order.
    pub fn new(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let ids: Vec<i64> = text
            .chars()
            .map(|c| chars.binary_search(&c).map_or(0, |i| i as i64))
            .collect();
        let n = ids.len() as i64;
        let n_valid = ((n as f64 * VALID_SHARE) as i64).max(SEQ + 1);
        let all = Tensor::from_slice(&ids);
        Corpus {
            chars,
            train: all.narrow(0, 0, n - n_valid),
            valid: all.narrow(0, n - n_valid, n_valid),
        }
    }

    /// Number of distinct characters.
    pub fn vocab(&self) -> i64 {
        self.chars.len() as i64
    }

    /// Characters in the training and validation parts.
    pub fn sizes(&self) -> (i64, i64) {
        (self.train.size()[0], self.valid.size()[0])
    }

    /// The character of id `id` (`?` for an unknown id).
    pub fn char_of(&self, id: i64) -> char {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.chars.get(i))
            .copied()
            .unwrap_or('?')
    }
}

/// Embedding, one LSTM layer, and a linear read-out to next-character logits.
pub struct CharLm {
    embed: nn::Embedding,
    lstm: nn::LSTM,
    head: nn::Linear,
    corpus: Corpus,
    steps: u64,
}

impl CharLm {
    /// The model (its variables in `vs`) over `corpus`, trained for `steps` steps.
    pub fn new(vs: &nn::VarStore, corpus: Corpus, steps: u64) -> Self {
        let p = vs.root();
        let v = corpus.vocab();
        CharLm {
            embed: nn::embedding(&p / "embed", v, EMBED, Default::default()),
            lstm: nn::lstm(&p / "lstm", EMBED, HIDDEN, Default::default()),
            head: nn::linear(&p / "head", HIDDEN, v, Default::default()),
            corpus,
            steps,
        }
    }

    /// Mean next-character cross-entropy (nats) over the windows of `data` starting at `starts`.
    fn loss(&self, data: &Tensor, starts: &Tensor) -> Tensor {
        let offsets = Tensor::arange(SEQ + 1, (Kind::Int64, Device::Cpu));
        let idx = starts.unsqueeze(1) + offsets.unsqueeze(0);
        let windows = data.index_select(0, &idx.view([-1])).view([-1, SEQ + 1]);
        let (inputs, targets) = (windows.narrow(1, 0, SEQ), windows.narrow(1, 1, SEQ));
        let (out, _) = self.lstm.seq(&self.embed.forward(&inputs));
        let logits = self.head.forward(&out);
        logits
            .view([-1, self.corpus.vocab()])
            .cross_entropy_for_logits(&targets.reshape([-1]))
    }

    /// `n` characters generated greedily after `prompt`.
    pub fn sample(&self, prompt: &str, n: usize) -> String {
        tch::no_grad(|| {
            let mut state = self.lstm.zero_state(1);
            for c in prompt.chars() {
                let id = self.corpus.chars.binary_search(&c).map_or(0, |i| i as i64);
                state = self
                    .lstm
                    .step(&self.embed.forward(&Tensor::from_slice(&[id])), &state);
            }
            let mut text = String::from(prompt);
            for _ in 0..n {
                let logits = self.head.forward(&state.h().squeeze_dim(0));
                let last = logits.argmax(-1, false).int64_value(&[0]);
                text.push(self.corpus.char_of(last));
                state = self
                    .lstm
                    .step(&self.embed.forward(&Tensor::from_slice(&[last])), &state);
            }
            text
        })
    }
}

impl Task for CharLm {
    fn train_loss(&mut self, _epoch: u32, batch: usize) -> Result<Option<Tensor>, TchError> {
        if batch as u64 >= self.steps {
            return Ok(None);
        }
        let high = self.corpus.train.size()[0] - SEQ - 1;
        let starts = Tensor::randint(high, [BATCH], (Kind::Int64, Device::Cpu));
        Ok(Some(self.loss(&self.corpus.train, &starts)))
    }

    fn valid_loss(&mut self, _epoch: u32) -> Result<Option<Tensor>, TchError> {
        // Every window of the held-out part, one character apart at most SEQ: a fixed set.
        let high = self.corpus.valid.size()[0] - SEQ - 1;
        let starts =
            Tensor::arange_start_step(0, high.max(1), (SEQ / 4).max(1), (Kind::Int64, Device::Cpu));
        Ok(Some(self.loss(&self.corpus.valid, &starts)))
    }
}
