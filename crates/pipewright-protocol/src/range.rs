//! The trace PATCH range headers (§8.1–§8.2).
//!
//! Request `Content-Range: <start>-<end>`: inclusive byte offsets, no unit, no total.
//! Answer `Range: 0-<total>`: the number after the dash is the total log length (what the
//! runner must send next), not the index of the last byte.

/// Formats the `Content-Range` of a PATCH carrying `len` bytes (> 0) starting at `start`.
pub fn content_range(start: u64, len: u64) -> String {
    format!("{start}-{}", (start + len).saturating_sub(1))
}

/// Parses a request `Content-Range` into `(start, end)`. Tolerates a `bytes ` unit and a
/// `/total` suffix, which GitLab's clients never send but HTTP libraries might.
pub fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let value = value.trim();
    let value = value.strip_prefix("bytes").map_or(value, str::trim_start);
    let value = value.split('/').next()?;
    let (start, end) = value.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = end.trim().parse().ok()?;
    Some((start, end))
}

/// Formats the answer `Range` for a log of `total` bytes (`0-0` when empty).
pub fn range(total: u64) -> String {
    format!("0-{total}")
}

/// Reads the total log length from an answer `Range` (`0-<total>`).
pub fn parse_range_total(value: &str) -> Option<u64> {
    let (_, total) = value.trim().rsplit_once('-')?;
    total.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_inclusive() {
        assert_eq!(content_range(0, 5), "0-4");
        assert_eq!(content_range(5, 1), "5-5");
        assert_eq!(parse_content_range("0-4"), Some((0, 4)));
        assert_eq!(parse_content_range("bytes 10-19/100"), Some((10, 19)));
        assert_eq!(parse_content_range("10"), None);
        assert_eq!(parse_content_range("a-b"), None);
    }

    #[test]
    fn range_carries_the_total() {
        assert_eq!(range(0), "0-0");
        assert_eq!(range(42), "0-42");
        assert_eq!(parse_range_total("0-42"), Some(42));
        assert_eq!(parse_range_total("garbage"), None);
    }
}
