//! Durations written the way npm `jsonwebtoken` reads its `expiresIn` option.

use std::time::Duration;

/// Reason a duration setting could not be parsed, shown after the setting's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("expected whole seconds such as 3600, or a whole number with a unit: s, m, h or d")]
    Invalid,
    #[error("the value is too large to count in seconds")]
    TooLarge,
}

/// Parses whole seconds (`3600`) or a whole number with a unit (`90s`, `30m`, `1h`, `7d`).
///
/// Fractions, signs, spaces and other units are rejected, so a typo never turns into an
/// unexpected lifetime. Zero is accepted here and rejected by callers that need more.
///
/// # Errors
///
/// Returns [`DurationError::Invalid`] for any other text and [`DurationError::TooLarge`]
/// when the number of seconds does not fit in a `u64`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let split_at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split_at);
    if digits.is_empty() {
        return Err(DurationError::Invalid);
    }

    let seconds_per_unit: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(DurationError::Invalid),
    };
    // Only digits are left, so the one way parsing fails is overflow.
    let count: u64 = digits.parse().map_err(|_| DurationError::TooLarge)?;
    let seconds = count
        .checked_mul(seconds_per_unit)
        .ok_or(DurationError::TooLarge)?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_seconds_and_units() {
        let cases = [
            ("3600", 3600),
            ("0", 0),
            ("90s", 90),
            ("30m", 1800),
            ("1h", 3600),
            ("7d", 604_800),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(seconds)),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn rejects_malformed_text() {
        let cases = [
            "", "h", "-1", "+1", "1.5h", "1 h", " 1h", "1h ", "1H", "1w", "1ms", "1hour", "1h30m",
            "abc",
        ];
        for text in cases {
            assert_eq!(
                parse_duration(text),
                Err(DurationError::Invalid),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(
            parse_duration("99999999999999999999"),
            Err(DurationError::TooLarge)
        );
        assert_eq!(
            parse_duration("999999999999999999d"),
            Err(DurationError::TooLarge)
        );
    }
}
