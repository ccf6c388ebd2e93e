//! Parsers for single CSV cells. They accept what pandas accepts for OML's columns and return
//! the error kind; the reader adds file, line and column.

use super::error::DatasetErrorKind;

/// An integer cell. Like pandas, `7`, `+7`, `-7` are integers; `7.0`, `7.5`, `abc` and empty are
/// not (pandas would read them into a float or object column, which OML rejects).
pub(crate) fn parse_label(cell: &str) -> Result<i64, DatasetErrorKind> {
    cell.parse::<i64>().map_err(|_| DatasetErrorKind::NotAnInteger { value: cell.to_owned() })
}

/// A boolean cell as pandas reads it: `True/False` in any letter case, and `1/0` or `1.0/0.0`
/// (a column with empty train cells is read as floats). `None` for an empty cell.
pub(crate) fn parse_optional_bool(cell: &str) -> Result<Option<bool>, DatasetErrorKind> {
    if cell.is_empty() {
        return Ok(None);
    }
    match cell.to_ascii_lowercase().as_str() {
        "true" | "1" | "1.0" => Ok(Some(true)),
        "false" | "0" | "0.0" => Ok(Some(false)),
        _ => Err(DatasetErrorKind::NotABool { value: cell.to_owned() }),
    }
}

/// A bounding-box corner: a non-negative integer, also written as a float with no fraction
/// (`12.0`), since pandas reads a column with empty cells as floats. `None` for an empty cell.
pub(crate) fn parse_coordinate(cell: &str) -> Result<Option<u32>, DatasetErrorKind> {
    if cell.is_empty() {
        return Ok(None);
    }
    let bad = || DatasetErrorKind::BadCoordinate { value: cell.to_owned() };
    if let Ok(v) = cell.parse::<u32>() {
        return Ok(Some(v));
    }
    let v: f64 = cell.parse().map_err(|_| bad())?;
    if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
        Ok(Some(v as u32))
    } else {
        Err(bad())
    }
}

/// An optional string cell: empty means missing.
pub(crate) fn optional_text(cell: &str) -> Option<String> {
    (!cell.is_empty()).then(|| cell.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_strict_integers() {
        assert_eq!(parse_label("42"), Ok(42));
        assert_eq!(parse_label("-3"), Ok(-3));
        for bad in ["", "3.0", "3.5", "x", "1e3"] {
            assert!(parse_label(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn booleans_accept_pandas_spellings() {
        for t in ["True", "true", "TRUE", "1", "1.0"] {
            assert_eq!(parse_optional_bool(t), Ok(Some(true)), "{t}");
        }
        for f in ["False", "false", "0", "0.0"] {
            assert_eq!(parse_optional_bool(f), Ok(Some(false)), "{f}");
        }
        assert_eq!(parse_optional_bool(""), Ok(None));
        assert!(parse_optional_bool("yes").is_err());
        assert!(parse_optional_bool("2").is_err());
    }

    #[test]
    fn coordinates_are_non_negative_integers() {
        assert_eq!(parse_coordinate("12"), Ok(Some(12)));
        assert_eq!(parse_coordinate("12.0"), Ok(Some(12)));
        assert_eq!(parse_coordinate(""), Ok(None));
        for bad in ["-1", "1.5", "a", "-0.5", "1e40"] {
            assert!(parse_coordinate(bad).is_err(), "{bad:?} accepted");
        }
    }
}
