//! Ready-made callbacks, one per file.
