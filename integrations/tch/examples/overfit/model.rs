//! The data (generated here), the network and the [`Task`] the loop trains.

use curvewatch_tch::{Task, TchError};
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};

/// Epochs at most (early stopping ends the run long before).
pub const EPOCHS: u32 = 3000;
/// Adam's learning rate.
pub const LR: f64 = 3e-3;
/// Samples per training batch: all of them (full batch, so the curves show the trend, not batch noise).
pub const BATCH: i64 = TRAIN;
const TRAIN: i64 = 16;
const VALID: i64 = 512;
const HIDDEN: i64 = 256;
const NOISE: f64 = 0.3;

/// Training and validation samples of `sin(3x) + noise` on [-1, 1].
pub struct Data {
    pub x: Tensor,
    pub y: Tensor,
    pub vx: Tensor,
    pub vy: Tensor,
}

impl Data {
    /// Draws the samples from tch's generator seeded with `seed`.
    pub fn generate(seed: i64) -> Self {
        tch::manual_seed(seed);
        let sample = |n: i64| {
            let x = Tensor::rand([n, 1], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
            let noise = Tensor::randn([n, 1], (Kind::Float, Device::Cpu)) * NOISE;
            let y = (&x * 3.0).sin() + noise;
            (x, y)
        };
        let (x, y) = sample(TRAIN);
        let (vx, vy) = sample(VALID);
        Data { x, y, vx, vy }
    }
}

/// A 1-256-256-1 tanh MLP, its data, and the current epoch's shuffled order.
pub struct Regression {
    net: nn::Sequential,
    data: Data,
    order: Tensor,
}

impl Regression {
    /// The network (its variables in the returned store) over a copy of `data`.
    pub fn new(data: &Data) -> (nn::VarStore, Self) {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let net = nn::seq()
            .add(nn::linear(&p / "l1", 1, HIDDEN, Default::default()))
            .add_fn(|x| x.tanh())
            .add(nn::linear(&p / "l2", HIDDEN, HIDDEN, Default::default()))
            .add_fn(|x| x.tanh())
            .add(nn::linear(&p / "l3", HIDDEN, 1, Default::default()));
        let data = Data {
            x: data.x.copy(),
            y: data.y.copy(),
            vx: data.vx.copy(),
            vy: data.vy.copy(),
        };
        let order = Tensor::arange(TRAIN, (Kind::Int64, Device::Cpu));
        (vs, Regression { net, data, order })
    }

    /// The mean squared error of training batch `batch` (reshuffled at batch 0), or `None` after the
    /// last batch.
    pub fn batch_loss(&mut self, batch: usize) -> Option<Tensor> {
        let start = batch as i64 * BATCH;
        if start >= TRAIN {
            return None;
        }
        if batch == 0 {
            self.order = Tensor::randperm(TRAIN, (Kind::Int64, Device::Cpu));
        }
        let idx = self.order.narrow(0, start, BATCH.min(TRAIN - start));
        let pred = self.net.forward(&self.data.x.index_select(0, &idx));
        Some(pred.mse_loss(&self.data.y.index_select(0, &idx), Reduction::Mean))
    }

    /// The mean squared error on the validation samples (call under `no_grad`).
    pub fn valid(&self) -> Tensor {
        let pred = self.net.forward(&self.data.vx);
        pred.mse_loss(&self.data.vy, Reduction::Mean)
    }
}

impl Task for Regression {
    fn train_loss(&mut self, _epoch: u32, batch: usize) -> Result<Option<Tensor>, TchError> {
        Ok(self.batch_loss(batch))
    }

    fn valid_loss(&mut self, _epoch: u32) -> Result<Option<Tensor>, TchError> {
        Ok(Some(self.valid()))
    }
}
