//! Pure analysis over slices of values: no bus, no callbacks. The live callbacks and the command line
//! both use these functions, so offline and online judgements agree.

pub mod clustering;
pub mod multi_run;
pub mod prediction;
pub mod smoothing;
pub mod trend;
