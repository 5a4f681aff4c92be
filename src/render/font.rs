//! The one font every chart uses: DejaVu Sans, shipped in the repository and compiled into the binary.
//!
//! Charts never look for system fonts. The font's bytes are embedded with `include_bytes!` and handed to
//! plotters' `ab_glyph` font table once per process (the first call of [`ensure_registered`]); text in a
//! chart names the family [`FONT_FAMILY`]. The font is under the Bitstream Vera licence
//! (`assets/fonts/DejaVuSans-LICENSE.txt`).

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

/// The family name charts ask plotters for; registered as DejaVu Sans by [`ensure_registered`].
///
/// It is also plotters' default family, so text drawn without naming a family gets the same font.
pub const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans (regular), the TrueType file shipped in `assets/fonts/`.
pub static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Why the embedded font could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FontError {
    /// The embedded bytes are not a font `ab_glyph` can read (the asset was replaced or truncated).
    #[error("the embedded font file ({bytes} bytes) is not a valid TrueType/OpenType font")]
    InvalidFont {
        /// Size of the embedded file.
        bytes: usize,
    },
}

static REGISTERED: OnceLock<Result<(), FontError>> = OnceLock::new();

/// Registers DejaVu Sans with plotters under [`FONT_FAMILY`] (every style falls back to it), once.
///
/// Cheap after the first call (one atomic load); safe to call from several threads. Every chart
/// function calls it, so users never need to.
///
/// ```
/// curvewatch::render::font::ensure_registered().unwrap();
/// ```
pub fn ensure_registered() -> Result<(), FontError> {
    REGISTERED
        .get_or_init(|| {
            let invalid = || FontError::InvalidFont {
                bytes: DEJAVU_SANS.len(),
            };
            register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).map_err(|_| invalid())?;
            register_font("DejaVu Sans", FontStyle::Normal, DEJAVU_SANS).map_err(|_| invalid())
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_is_a_truetype_file_and_registers() {
        // A TrueType file starts with the sfnt version 0x00010000.
        assert_eq!(
            &DEJAVU_SANS[..4],
            &[0, 1, 0, 0],
            "sfnt version of a TrueType font"
        );
        assert!(
            DEJAVU_SANS.len() > 700_000,
            "the full DejaVu Sans, not a stub"
        );
        assert_eq!(ensure_registered(), Ok(()), "first registration");
        assert_eq!(
            ensure_registered(),
            Ok(()),
            "later calls return the cached result"
        );
    }

    #[test]
    fn registered_family_measures_text() {
        use plotters::style::{FontDesc, IntoFont};
        ensure_registered().unwrap();
        let font: FontDesc = (FONT_FAMILY, 20.0).into_font();
        let (w_short, _) = font.box_size("ab").unwrap();
        let (w_long, _) = font.box_size("abababab").unwrap();
        // Four times the glyphs, about four times the advance width (kerning aside).
        assert!(
            w_short > 10,
            "two glyphs at 20 px are wider than 10 px: {w_short}"
        );
        assert!(
            (w_long as f64 / w_short as f64 - 4.0).abs() < 0.3,
            "{w_short} {w_long}"
        );
    }
}
