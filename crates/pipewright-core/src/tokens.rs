//! Secret generation and hashing. Only digests are stored.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// SHA-256 hex digest of a token, the form every token is stored and looked up in.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random token with GitLab's prefix for its kind (`glpat-`, `glrt-`, `glcbt-`).
pub fn generate(prefix: &str) -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}{random}")
}

pub const PERSONAL_ACCESS_TOKEN_PREFIX: &str = "glpat-";
pub const RUNNER_TOKEN_PREFIX: &str = "glrt-";
pub const JOB_TOKEN_PREFIX: &str = "glcbt-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_prefix_and_differ() {
        let a = generate(RUNNER_TOKEN_PREFIX);
        let b = generate(RUNNER_TOKEN_PREFIX);
        assert!(a.starts_with("glrt-"));
        assert_eq!(a.len(), "glrt-".len() + 24);
        assert_ne!(a, b);
    }

    #[test]
    fn hash_is_stable_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
