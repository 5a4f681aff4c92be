//! Crash-safe files: atomic writes (temporary file, fsync, rename) and errors that name the file.

use std::fmt::Display;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A failure to read or write a curvewatch file; every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The file could not be read, written, synced or renamed.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What was being done (`write`, `rename`, ...).
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file's contents are not valid JSON of the expected shape.
    #[error("{path}: line {line}, column {column}: {message}")]
    Parse {
        /// The file (or `<string>`).
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// The file parsed but its contents are inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file (or `<string>`).
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl PersistError {
    pub(crate) fn parse(path: impl Display, e: serde_json::Error) -> Self {
        PersistError::Parse {
            path: path.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }

    fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        PersistError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }
}

/// Reads a whole file as UTF-8, with an error that names it.
pub(crate) fn read_to_string(path: &Path) -> Result<String, PersistError> {
    fs::read_to_string(path).map_err(|e| PersistError::io(path, "read", e))
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a mix.
///
/// The bytes go to a temporary file in the same folder (`.<name>.<pid>.tmp`), which is synced and then
/// renamed over `path`; the folder is synced after the rename where the platform allows it.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| PersistError::Invalid {
            path: path.display().to_string(),
            message: "not a file path".into(),
        })?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = write_synced(&tmp, bytes).and_then(|()| {
        fs::rename(&tmp, path).map_err(|e| PersistError::io(path, "rename temporary file onto", e))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    result
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let mut f = File::create(tmp).map_err(|e| PersistError::io(tmp, "create", e))?;
    f.write_all(bytes)
        .map_err(|e| PersistError::io(tmp, "write", e))?;
    f.sync_all().map_err(|e| PersistError::io(tmp, "sync", e))
}

/// Serde for one `f64` (`#[serde(with = "curvewatch::persist::float")]`) that keeps non-finite values: JSON has no NaN, so they travel as `"NaN"`,
/// `"inf"` and `"-inf"` (and `null`, which serde_json writes for NaN, reads back as NaN).
pub mod float {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serialize, Serializer};
    use std::fmt;

    /// A float that serialises non-finite values as strings.
    pub struct Float(pub f64);

    impl Serialize for Float {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let v = self.0;
            if v.is_finite() {
                s.serialize_f64(v)
            } else if v.is_nan() {
                s.serialize_str("NaN")
            } else if v > 0.0 {
                s.serialize_str("inf")
            } else {
                s.serialize_str("-inf")
            }
        }
    }

    impl<'de> de::Deserialize<'de> for Float {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(FloatVisitor)
        }
    }

    struct FloatVisitor;

    impl Visitor<'_> for FloatVisitor {
        type Value = Float;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number or \"NaN\"/\"inf\"/\"-inf\"")
        }
        fn visit_f64<E>(self, v: f64) -> Result<Float, E> {
            Ok(Float(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Float, E> {
            Ok(Float(v as f64))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Float, E> {
            Ok(Float(v as f64))
        }
        fn visit_unit<E>(self) -> Result<Float, E> {
            Ok(Float(f64::NAN))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Float, E> {
            match v {
                "NaN" | "nan" => Ok(Float(f64::NAN)),
                "inf" | "Infinity" => Ok(Float(f64::INFINITY)),
                "-inf" | "-Infinity" => Ok(Float(f64::NEG_INFINITY)),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }

    /// Serialises one float (use with `#[serde(with = "curvewatch::persist::float")]`).
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        Float(*v).serialize(s)
    }

    /// Deserialises one float.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        <Float as de::Deserialize>::deserialize(d).map(|f| f.0)
    }
}

/// Serde for `Option<f64>` with non-finite values kept (see [`float`]); `None` is `null` while NaN is
/// written as `"NaN"`, so the two stay apart.
pub mod opt_float {
    use super::float::Float;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialises an optional float.
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Float).serialize(s)
    }

    /// Deserialises an optional float.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Float>::deserialize(d)?.map(|f| f.0))
    }
}

/// Serde for `Vec<f64>` with non-finite values kept (see [`float`]).
pub mod floats {
    use super::float::Float;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises a float vector.
    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(values.len()))?;
        for v in values {
            seq.serialize_element(&Float(*v))?;
        }
        seq.end()
    }

    /// Deserialises a float vector.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let raw = Vec::<Float>::deserialize(d)?;
        Ok(raw.into_iter().map(|f| f.0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("cw-persist-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_write_names_the_file_and_keeps_nothing() {
        let p = Path::new("/nonexistent-curvewatch-dir/x.json");
        let err = atomic_write(p, b"x").unwrap_err().to_string();
        assert!(err.contains("nonexistent-curvewatch-dir"), "{err}");
    }
}
