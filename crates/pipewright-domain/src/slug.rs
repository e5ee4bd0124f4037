//! GitLab's slug rule (`Gitlab::Utils.slugify`, ci-yaml.md §10), used for `CI_COMMIT_REF_SLUG`,
//! `CI_PROJECT_PATH_SLUG`, `CI_JOB_NAME_SLUG`, `CI_ENVIRONMENT_SLUG`'s base…

/// Longest slug, in bytes (a DNS label).
pub const MAX_SLUG_LEN: usize = 63;

/// Lowercase, every character outside `[a-z0-9]` becomes `-`, cut to 63 bytes, then leading
/// and trailing `-` removed (in that order, so a cut can expose a trailing `-` that is then
/// trimmed, and the result may be shorter than 63).
pub fn slugify(text: &str) -> String {
    let mut slug: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(MAX_SLUG_LEN)
        .collect();
    // Every char is ASCII now, so chars and bytes coincide.
    let end = slug.trim_end_matches('-').len();
    slug.truncate(end);
    let start = slug.len() - slug.trim_start_matches('-').len();
    slug.drain(..start);
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_examples() {
        assert_eq!(slugify("main"), "main");
        assert_eq!(slugify("feature/My_Branch"), "feature-my-branch");
        assert_eq!(slugify("v1.2.3"), "v1-2-3");
        assert_eq!(slugify("group/sub/my-app"), "group-sub-my-app");
        assert_eq!(slugify("rspec 2/4"), "rspec-2-4");
        assert_eq!(
            slugify("deploy: [aws, eu-west-1]"),
            "deploy---aws--eu-west-1"
        );
    }

    #[test]
    fn leading_and_trailing_dashes_are_trimmed_inner_runs_kept() {
        assert_eq!(slugify("--a__b--"), "a--b");
        assert_eq!(slugify("///"), "");
        assert_eq!(slugify(""), "");
    }

    #[test]
    fn cut_to_63_bytes_before_trimming() {
        let long = "a".repeat(100);
        assert_eq!(slugify(&long), "a".repeat(63));
        // The 63rd char is a separator: cut, then trimmed to 62.
        let text = format!("{}/tail", "b".repeat(62));
        assert_eq!(slugify(&text), "b".repeat(62));
        // Leading separators count towards the 63 before they are trimmed.
        let text = format!("__{}", "c".repeat(70));
        assert_eq!(slugify(&text), "c".repeat(61));
    }

    #[test]
    fn non_ascii_becomes_one_dash_per_character() {
        // "ünïcode-bräñch": the leading "ü" becomes a dash that is trimmed.
        assert_eq!(slugify("Ünïcode-Bräñch"), "n-code-br--ch");
        assert_eq!(slugify("日本"), "");
        assert_eq!(slugify("a日b"), "a-b");
        // Kelvin sign lowercases to an ASCII k, as Ruby's downcase does.
        assert_eq!(slugify("\u{212A}8s"), "k8s");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn slugs_are_short_lowercase_alnum_and_dashes(text in ".{0,100}") {
                let slug = slugify(&text);
                prop_assert!(slug.len() <= MAX_SLUG_LEN);
                prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
                prop_assert_eq!(slugify(&slug), slug.clone());
            }
        }
    }
}
