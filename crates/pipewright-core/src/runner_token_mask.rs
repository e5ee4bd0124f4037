//! Masks runner authentication tokens in job log chunks before they are stored
//! (runner-protocol.md §8.2), with `x`s of the same length so that log offsets keep
//! matching the runner's bytes.
//!
//! Only digests of runner tokens are stored, so candidates are found by their shape
//! (`glrt-…`, or `t1_` + 24 characters for legacy-registered runners) and checked against
//! the store: any live runner token is masked, not only the job's runner's. A token split
//! across two log chunks is not seen (the same holds for the job token).

use crate::App;
use crate::error::Result;
use crate::tokens::{RUNNER_TOKEN_PREFIX, hash_token};

/// Replaces every live runner token in `chunk` with `x`s.
pub async fn mask_runner_tokens(app: &App, chunk: &mut [u8]) -> Result<()> {
    let candidates = candidates(chunk);
    let mut checked: Vec<(usize, usize, bool)> = Vec::with_capacity(candidates.len());
    for (start, end) in candidates {
        let token = &chunk[start..end];
        // The same token repeated in one chunk is looked up once.
        let known = checked
            .iter()
            .find(|(s, e, _)| &chunk[*s..*e] == token)
            .map(|(_, _, live)| *live);
        let live = match known {
            Some(live) => live,
            None => {
                let text = String::from_utf8_lossy(token);
                app.store
                    .runner_by_token_hash(&hash_token(&text))
                    .await?
                    .is_some()
            }
        };
        checked.push((start, end, live));
    }
    for (start, end, live) in checked {
        if live {
            chunk[start..end].fill(b'x');
        }
    }
    Ok(())
}

/// Prefixes of runner tokens (`POST /user/runners` and legacy registration) and the body
/// length that must follow (`None`: any run of token characters).
const SHAPES: [(&str, Option<usize>); 2] = [(RUNNER_TOKEN_PREFIX, None), ("t1_", Some(24))];

/// `(start, end)` of each token-shaped run in `bytes`: a known prefix at a word start,
/// followed by alphanumerics, `_` and `-`.
fn candidates(bytes: &[u8]) -> Vec<(usize, usize)> {
    let token_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !token_char(&bytes[i - 1]);
        let shape = SHAPES
            .iter()
            .find(|(prefix, _)| at_word_start && bytes[i..].starts_with(prefix.as_bytes()));
        let Some((prefix, length)) = shape else {
            i += 1;
            continue;
        };
        let body_start = i + prefix.len();
        let body = bytes[body_start..]
            .iter()
            .take_while(|b| token_char(b))
            .count();
        let fits = match length {
            Some(length) => body == *length,
            None => body > 0,
        };
        if fits {
            out.push((i, body_start + body));
        }
        i = body_start + body;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn candidates_are_prefixed_runs_at_word_starts() {
        let text = b"a glrt-AbC123_x-9 b glrt- c glrt-Z xglrt-no t1_abcdefghijklmnopqrstuvwx \
                     t1_short test1_abcdefghijklmnopqrstuvwx\n";
        let found: Vec<&[u8]> = candidates(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(
            found,
            [
                &b"glrt-AbC123_x-9"[..],
                &b"glrt-Z"[..],
                &b"t1_abcdefghijklmnopqrstuvwx"[..]
            ]
        );
    }
}
