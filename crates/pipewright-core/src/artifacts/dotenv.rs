//! `artifacts:reports:dotenv`: `KEY=VALUE` lines that become variables of dependent jobs.
//! Bounded like GitLab: 5 KiB of text and 20 variables at most.

use std::io::Read;
use std::path::Path;

pub const MAX_SIZE: u64 = 5 * 1024;
pub const MAX_VARIABLES: usize = 20;

/// Reads the (gzip) report at `path`; the error text is the 400 message.
pub fn read_gzip(path: &Path) -> Result<Vec<(String, String)>, String> {
    let file = std::fs::File::open(path).map_err(|err| format!("cannot read dotenv: {err}"))?;
    let mut text = Vec::new();
    // Inflate one byte past the limit only: a gzip bomb stops here.
    flate2::read::MultiGzDecoder::new(file)
        .take(MAX_SIZE + 1)
        .read_to_end(&mut text)
        .map_err(|_| "Invalid Format".to_owned())?;
    if text.len() as u64 > MAX_SIZE {
        return Err(format!(
            "Dotenv Artifact Too Big. Maximum Allowable Size: {} KiB",
            MAX_SIZE / 1024
        ));
    }
    let text = String::from_utf8(text).map_err(|_| "Invalid Format".to_owned())?;
    parse(&text)
}

pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut variables: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err("Invalid Format".to_owned());
        };
        let key = key.trim();
        let valid_key =
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_key {
            return Err("Invalid Format".to_owned());
        }
        variables.retain(|(existing, _)| existing != key);
        variables.push((key.to_owned(), value.trim().to_owned()));
    }
    if variables.len() > MAX_VARIABLES {
        return Err(format!(
            "Dotenv files cannot have more than {MAX_VARIABLES} variables"
        ));
    }
    Ok(variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_value_lines() {
        assert_eq!(
            parse("A=1\n\n# comment\nB = two words \nA=3\n"),
            Ok(vec![
                ("B".into(), "two words".into()),
                ("A".into(), "3".into())
            ])
        );
        assert!(parse("not a pair").is_err());
        assert!(parse("BAD-KEY=1").is_err());
        let many: String = (0..21).map(|i| format!("K{i}=v\n")).collect();
        assert!(parse(&many).is_err_and(|e| e.contains("more than 20")));
    }
}
