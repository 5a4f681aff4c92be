//! Empty stand-in for `burn-tch`; see this crate's Cargo.toml for why it exists.
