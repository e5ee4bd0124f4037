//! Replaces secret values in streamed output with `[MASKED]`.
//!
//! Output arrives in arbitrary chunks, so a secret may be split across two of them. The
//! masker holds back the last `longest secret - 1` bytes: any occurrence that is not complete
//! yet must start inside that tail, so everything before it is safe to emit.

const MASK: &[u8] = b"[MASKED]";

#[derive(Debug, Default)]
pub(crate) struct Masker {
    secrets: Vec<Vec<u8>>,
    pending: Vec<u8>,
}

impl Masker {
    /// Empty values are ignored (they would match everywhere).
    pub(crate) fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<Vec<u8>> = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::into_bytes)
            .collect();
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self {
            secrets,
            pending: Vec::new(),
        }
    }

    /// Feeds a chunk; returns the bytes that are now safe to publish.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        self.mask_pending();
        let keep = self.secrets.first().map_or(0, |s| s.len() - 1);
        let cut = self.pending.len().saturating_sub(keep);
        self.pending.drain(..cut).collect()
    }

    /// Releases what is held back (end of output).
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.mask_pending();
        std::mem::take(&mut self.pending)
    }

    fn mask_pending(&mut self) {
        for secret in &self.secrets {
            if let Some(masked) = replace_all(&self.pending, secret) {
                self.pending = masked;
            }
        }
    }
}

/// `haystack` with every occurrence of `needle` replaced by the mask, or `None` if none.
fn replace_all(haystack: &[u8], needle: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = haystack;
    let mut found = false;
    while let Some(pos) = rest.windows(needle.len()).position(|w| w == needle) {
        found = true;
        out.extend_from_slice(&rest[..pos]);
        out.extend_from_slice(MASK);
        rest = &rest[pos + needle.len()..];
    }
    found.then(|| {
        out.extend_from_slice(rest);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(secrets: &[&str], chunks: &[&str]) -> String {
        let mut masker = Masker::new(secrets.iter().map(|s| s.to_string()));
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(masker.push(chunk.as_bytes()));
        }
        out.extend(masker.finish());
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn masks_whole_and_split_secrets() {
        assert_eq!(run(&["s3cr3tval"], &["a s3cr3tval b"]), "a [MASKED] b");
        assert_eq!(
            run(&["s3cr3tval"], &["a s3c", "r3t", "val b"]),
            "a [MASKED] b"
        );
        assert_eq!(
            run(&["s3cr3tval"], &["s3cr3tvals3cr3tval"]),
            "[MASKED][MASKED]"
        );
        assert_eq!(run(&[], &["plain ", "text"]), "plain text");
        assert_eq!(run(&[""], &["plain"]), "plain");
        assert_eq!(
            run(&["abcdefgh", "abcdefghij"], &["xabcdefghijx"]),
            "x[MASKED]x"
        );
    }

    #[test]
    fn holds_back_only_a_possible_prefix() {
        let mut masker = Masker::new(["0123456789".to_string()]);
        let out = masker.push(b"hello world, this is long");
        assert_eq!(out, b"hello world, thi");
        assert_eq!(masker.finish(), b"s is long");
    }
}
