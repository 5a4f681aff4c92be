//! [`ImportFormat`]: the formats curvewatch reads, their command-line names, and parsing them.

use std::fmt;
use std::str::FromStr;

/// The log formats curvewatch reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportFormat {
    /// Hugging Face Trainer `trainer_state.json`.
    HfTrainerState,
    /// PyTorch Lightning `CSVLogger` `metrics.csv`.
    LightningCsv,
    /// Keras `CSVLogger` output or a saved `history.history` table.
    KerasCsv,
    /// One JSON object per line.
    JsonLines,
    /// A free-form text log.
    PlainText,
    /// A CSV of step or epoch and metric columns.
    PlainCsv,
    /// An LCDB 2.0 `results.csv`: one learning curve over training-set sizes per row.
    LcdbResults,
}

impl ImportFormat {
    /// Every format, in detection-independent order.
    pub const ALL: [ImportFormat; 7] = [
        ImportFormat::HfTrainerState,
        ImportFormat::LightningCsv,
        ImportFormat::KerasCsv,
        ImportFormat::JsonLines,
        ImportFormat::PlainText,
        ImportFormat::PlainCsv,
        ImportFormat::LcdbResults,
    ];

    /// The short name used on the command line (`--format`) and in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::HfTrainerState => "hf-trainer-state",
            ImportFormat::LightningCsv => "lightning-csv",
            ImportFormat::KerasCsv => "keras-csv",
            ImportFormat::JsonLines => "jsonl",
            ImportFormat::PlainText => "text",
            ImportFormat::PlainCsv => "csv",
            ImportFormat::LcdbResults => "lcdb",
        }
    }
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that [`ImportFormat::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format `{0}`; expected one of hf-trainer-state, lightning-csv, keras-csv, jsonl, text, csv, lcdb")]
pub struct UnknownFormat(pub String);

impl FromStr for ImportFormat {
    type Err = UnknownFormat;

    /// Parses a [`ImportFormat::name`], ignoring case; `hf`, `trainer-state`, `lightning`, `keras`,
    /// `json-lines`, `ndjson` and `txt` are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        let found = ImportFormat::ALL.into_iter().find(|f| f.name() == lower);
        found
            .or(match lower.as_str() {
                "hf" | "trainer-state" | "huggingface" => Some(ImportFormat::HfTrainerState),
                "lightning" => Some(ImportFormat::LightningCsv),
                "keras" => Some(ImportFormat::KerasCsv),
                "json-lines" | "ndjson" | "jsonlines" => Some(ImportFormat::JsonLines),
                "txt" | "plain-text" | "log" => Some(ImportFormat::PlainText),
                "plain-csv" => Some(ImportFormat::PlainCsv),
                _ => None,
            })
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for f in ImportFormat::ALL {
            assert_eq!(f.name().parse::<ImportFormat>(), Ok(f), "{f}");
        }
        let cases = [
            ("HF", ImportFormat::HfTrainerState, "alias, any case"),
            (
                "trainer_state",
                ImportFormat::HfTrainerState,
                "underscore for dash",
            ),
            (
                "ndjson",
                ImportFormat::JsonLines,
                "another name for JSON lines",
            ),
            (" keras ", ImportFormat::KerasCsv, "spaces trimmed"),
        ];
        for (text, want, why) in cases {
            assert_eq!(text.parse::<ImportFormat>(), Ok(want), "{why}");
        }
        let err = "xml".parse::<ImportFormat>().unwrap_err();
        assert!(err
            .to_string()
            .starts_with("unknown log format `xml`; expected one of"));
    }
}
