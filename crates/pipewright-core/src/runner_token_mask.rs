//! Masks runner authentication tokens in job log chunks before they are stored
//! (runner-protocol.md §8.2), with `x`s of the same length so that log offsets keep
//! matching the runner's bytes.
//!
//! Only digests of runner tokens are stored, so candidates are found by their shape
//! (`glrt-` + the alphanumerics that follow) and checked against the store: any live runner
//! token is masked, not only the job's runner's. A token split across two log chunks is not
//! seen (the same holds for the job token).

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

/// `(start, end)` of each `glrt-<alphanumerics, -, _>` run in `bytes`.
fn candidates(bytes: &[u8]) -> Vec<(usize, usize)> {
    let prefix = RUNNER_TOKEN_PREFIX.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + prefix.len() <= bytes.len() {
        if &bytes[i..i + prefix.len()] != prefix {
            i += 1;
            continue;
        }
        let body = bytes[i + prefix.len()..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
            .count();
        let end = i + prefix.len() + body;
        if body > 0 {
            out.push((i, end));
        }
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn candidates_are_prefixed_runs() {
        let text = b"a glrt-AbC123_x-9 b glrt- c glrt-Z\n";
        let found: Vec<&[u8]> = candidates(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(found, [&b"glrt-AbC123_x-9"[..], &b"glrt-Z"[..]]);
    }
}
