//! `environment:` (ci-yaml.md §3.19) as a job sees it: name and url expanded with the job's
//! variables, and the `CI_ENVIRONMENT_*` variables.

use std::collections::HashMap;

use pipewright_ciyaml::Environment;

/// GitLab's `ExpandVariables.expand`: `$NAME`, `${NAME}` (and `%NAME%`) are replaced by the
/// variable's value, unknown names by nothing.
pub fn expand(text: &str, vars: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['$', '%']) {
        out.push_str(&rest[..pos]);
        let sigil = &rest[pos..=pos];
        let after = &rest[pos + 1..];
        let (name, consumed) = match (sigil, after.strip_prefix('{')) {
            ("$", Some(braced)) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            ("$", None) => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
            _ => match after.find('%') {
                Some(end) if is_name(&after[..end]) => (&after[..end], end + 1),
                _ => ("", 0),
            },
        };
        if is_name(name) {
            out.push_str(vars.get(name).copied().unwrap_or_default());
            rest = &after[consumed..];
        } else {
            out.push_str(sigil);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// GitLab's `Environment#guess_tier`: the deployment tier an environment name suggests. The
/// patterns are tried in GitLab's order, so `review-prod` is `development`.
pub fn guess_tier(name: &str) -> &'static str {
    let name = name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| name.contains(word));
    if has(&["dev", "review", "trunk"]) {
        "development"
    } else if has(&[
        "test", "tst", "int", "acpt", "accept", "qa", "qc", "control", "quality",
    ]) {
        "testing"
    } else if has(&["stag", "stg", "model", "modl", "pre", "demo", "non"]) {
        "staging"
    } else if has(&["prod", "prd", "live"]) {
        "production"
    } else {
        "other"
    }
}

/// GitLab's environment slug (`Gitlab::Slug::Environment`): lower-case `[a-z0-9-]`,
/// starting with a letter, no repeated `-`, at most 24 bytes. A name the rules changed (or
/// a long one) keeps its first 17 bytes plus `-` and a 6-character suffix derived from the
/// name, so that different names stay apart.
pub fn environment_slug(name: &str) -> String {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        slug.insert_str(0, "env-");
    }
    let mut squeezed = String::with_capacity(slug.len());
    for c in slug.chars() {
        if !(c == '-' && squeezed.ends_with('-')) {
            squeezed.push(c);
        }
    }
    if squeezed.len() > 24 || squeezed != name {
        // Every char is ASCII: bytes and chars coincide.
        squeezed.truncate(17);
        if !squeezed.ends_with('-') {
            squeezed.push('-');
        }
        squeezed.push_str(&slug_suffix(name));
        squeezed
    } else {
        squeezed.trim_end_matches('-').to_owned()
    }
}

/// The last 6 base-36 digits of the SHA-256 of `name` read as one big number.
fn slug_suffix(name: &str) -> String {
    use sha2::{Digest, Sha256};
    const MODULUS: u64 = 36u64.pow(6);
    let remainder = Sha256::digest(name.as_bytes())
        .iter()
        .fold(0u64, |acc, byte| (acc * 256 + u64::from(*byte)) % MODULUS);
    let mut digits = [b'0'; 6];
    let mut rest = remainder;
    for digit in digits.iter_mut().rev() {
        let value = u8::try_from(rest % 36).unwrap_or(0);
        *digit = if value < 10 {
            b'0' + value
        } else {
            b'a' + value - 10
        };
        rest /= 36;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// `CI_ENVIRONMENT_NAME`, `_SLUG`, `_ACTION`, `_TIER` and (when set) `_URL`, with name and
/// url expanded against `vars` (the job's other variables, later entries winning).
pub fn environment_variables(
    environment: &Environment,
    vars: &[(String, String)],
) -> Vec<(String, String)> {
    let lookup: HashMap<&str, &str> = vars
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let name = expand(&environment.name, &lookup);
    let tier = environment
        .deployment_tier
        .clone()
        .unwrap_or_else(|| guess_tier(&name).to_owned());
    let mut out = vec![
        ("CI_ENVIRONMENT_NAME".to_owned(), name.clone()),
        ("CI_ENVIRONMENT_SLUG".to_owned(), environment_slug(&name)),
        (
            "CI_ENVIRONMENT_ACTION".to_owned(),
            environment.action.clone(),
        ),
        ("CI_ENVIRONMENT_TIER".to_owned(), tier),
    ];
    if let Some(url) = &environment.url {
        out.push(("CI_ENVIRONMENT_URL".to_owned(), expand(url, &lookup)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_replaces_known_and_blanks_unknown_names() {
        let vars = HashMap::from([("REF", "main"), ("X", "1")]);
        assert_eq!(expand("review/$REF", &vars), "review/main");
        assert_eq!(expand("a-${REF}-b", &vars), "a-main-b");
        assert_eq!(expand("%X%/$NOPE/end", &vars), "1//end");
        assert_eq!(expand("cost: 5$ or 10%", &vars), "cost: 5$ or 10%");
    }

    #[test]
    fn tiers_are_guessed_from_environment_names() {
        assert_eq!(guess_tier("production"), "production");
        assert_eq!(guess_tier("Staging"), "staging");
        assert_eq!(guess_tier("qa-1"), "testing");
        assert_eq!(guess_tier("review/feature"), "development");
        assert_eq!(guess_tier("sandbox"), "other");
        // GitLab tries development first, production last.
        assert_eq!(guess_tier("review-prod"), "development");
        assert_eq!(guess_tier("preprod"), "staging");
    }

    #[test]
    fn environment_slugs_follow_gitlab() {
        assert_eq!(environment_slug("production"), "production");
        assert_eq!(environment_slug("staging-1"), "staging-1");
        assert_eq!(environment_slug("review/123"), "review-123-twxcp1");
        assert_eq!(environment_slug("Production"), "production-iis43c");
        assert_eq!(environment_slug("1-prod"), "env-1-prod-fg2zxa");
        assert_eq!(
            environment_slug("a-very-long-environment-name"),
            "a-very-long-envir-8opby0"
        );
    }
}
