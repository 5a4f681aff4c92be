//! Learning-curve charts with plotters (pure: data in, PNG or SVG out), min/max-per-pixel decimation,
//! and the background render worker that never blocks training.

pub mod charts;
mod curves;
pub mod decimate;
pub mod font;
pub mod worker;

pub use curves::CurveRenderer;
