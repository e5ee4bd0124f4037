//! User passwords: stored as Argon2id PHC strings (`$argon2id$...`), never in clear and never
//! as a fast digest. Hashing is deliberately slow, so it runs off the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use pipewright_store::model::User;

use crate::App;
use crate::error::{Error, Result};
use crate::tokens::hash_token;

/// The PHC string of `password` with a fresh random salt.
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

fn hash_now(password: &str) -> Result<String> {
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(Error::internal)
}

/// What checking a password found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, but stored in the old SHA-256 form: store a new hash.
    RightButOutdated,
}

/// Checks `password` against a stored hash: Argon2 PHC strings, or the unsalted SHA-256 hex
/// digests that `POST /users` wrote before passwords were hashed with a KDF.
pub async fn verify(password: &str, stored: &str) -> Result<Verdict> {
    let password = password.to_owned();
    let stored = stored.to_owned();
    Ok(tokio::task::spawn_blocking(move || verify_now(&password, &stored)).await?)
}

fn verify_now(password: &str, stored: &str) -> Verdict {
    if let Ok(parsed) = PasswordHash::new(stored) {
        return if Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
        {
            Verdict::Right
        } else {
            Verdict::Wrong
        };
    }
    let is_legacy = stored.len() == 64 && stored.bytes().all(|byte| byte.is_ascii_hexdigit());
    if is_legacy && constant_time_eq(hash_token(password).as_bytes(), stored.as_bytes()) {
        Verdict::RightButOutdated
    } else {
        Verdict::Wrong
    }
}

/// The user a login (username or email) and password name: nobody when the user has no
/// password, the password is wrong, or the account may not sign in. A right password stored
/// in the old form is stored again with Argon2.
pub async fn authenticate(app: &App, login: &str, password: &str) -> Result<Option<User>> {
    if login.is_empty() || password.is_empty() {
        return Ok(None);
    }
    let Some((user, Some(stored))) = app.store.user_with_password_by_login(login).await? else {
        return Ok(None);
    };
    let verdict = verify(password, &stored).await?;
    if verdict == Verdict::Wrong || crate::user_states::require_active(app, &user).is_err() {
        return Ok(None);
    }
    if verdict == Verdict::RightButOutdated {
        let upgraded = hash(password).await?;
        app.store.set_user_password_hash(user.id, &upgraded).await?;
    }
    Ok(Some(user))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_hashes_are_salted_and_verify() {
        let first = hash_now("s3cret").expect("hash");
        let second = hash_now("s3cret").expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second);
        assert_eq!(verify_now("s3cret", &first), Verdict::Right);
        assert_eq!(verify_now("other", &first), Verdict::Wrong);
    }

    #[test]
    fn old_sha256_hashes_still_verify_and_ask_for_an_upgrade() {
        let old = hash_token("s3cret");
        assert_eq!(verify_now("s3cret", &old), Verdict::RightButOutdated);
        assert_eq!(verify_now("nope", &old), Verdict::Wrong);
        assert_eq!(verify_now("s3cret", "garbage"), Verdict::Wrong);
    }
}
