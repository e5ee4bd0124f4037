//! Human durations as GitLab (ChronicDuration) reads them: "1h 30m", "3 hours", "90".

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;
const YEAR: f64 = 365.0 * DAY;

pub(crate) const ONE_WEEK: u64 = 7 * 86_400;
pub(crate) const ONE_MONTH: u64 = 30 * 86_400;

/// Seconds, or `None` when the text is not a duration.
pub fn parse(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    if text.is_empty() {
        return None;
    }
    let tokens = tokenize(&text)?;
    let mut total = 0.0;
    let mut pending: Option<f64> = None;
    for token in tokens {
        match token {
            Token::Number(n) => {
                // Two numbers in a row: the first one had no unit, ChronicDuration reads seconds.
                if let Some(previous) = pending.replace(n) {
                    total += previous;
                }
            }
            Token::Unit(unit) => {
                let n = pending.take()?;
                total += n * unit;
            }
        }
    }
    if let Some(rest) = pending {
        total += rest;
    }
    if !(0.0..=1e15).contains(&total) {
        return None;
    }
    Some(total.round() as u64)
}

enum Token {
    Number(f64),
    Unit(f64),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(number.parse().ok()?));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word == "and" {
                continue;
            }
            tokens.push(Token::Unit(unit(&word)?));
        } else if c.is_whitespace() || c == ',' {
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

fn unit(word: &str) -> Option<f64> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "wk" | "wks" | "week" | "weeks" => WEEK,
        "mo" | "mos" | "mon" | "mons" | "month" | "months" => MONTH,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_gitlab_style_durations() {
        assert_eq!(parse("1h 30m"), Some(5400));
        assert_eq!(parse("3 hours"), Some(10_800));
        assert_eq!(parse("90 minutes"), Some(5400));
        assert_eq!(parse("2h"), Some(7200));
        assert_eq!(parse("1h30m"), Some(5400));
        assert_eq!(parse("3600"), Some(3600));
        assert_eq!(parse("1 hour and 30 minutes"), Some(5400));
        assert_eq!(parse("1.5 hours"), Some(5400));
        assert_eq!(parse("1 week"), Some(604_800));
        assert_eq!(parse("2 days 4 hours"), Some(187_200));
        assert_eq!(parse("30 minutes"), Some(1800));
        assert_eq!(parse("soon"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("h"), None);
    }
}
