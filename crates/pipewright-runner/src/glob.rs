//! Path patterns of `artifacts:paths` / `artifacts:exclude`: `/`-separated, relative to the
//! project directory, with `*` and `?` inside one segment, `[abc]`/`[a-z]`/`[!x]` classes
//! and `**` for any number of segments (doublestar semantics, as GitLab Runner uses).

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    segments: Vec<String>,
}

impl Pattern {
    /// Normalises `./a//b/` to `a/b`. `None` when nothing is left.
    pub(crate) fn new(pattern: &str) -> Option<Self> {
        let segments: Vec<String> = pattern
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(str::to_owned)
            .collect();
        (!segments.is_empty()).then_some(Self { segments })
    }

    /// Whether the relative `path` (segments joined by `/`) matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match_segments(&self.segments, &parts)
    }
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((head, tail)) => segment_matches(first, head) && match_segments(rest, tail),
            None => false,
        },
    }
}

/// One segment against one name: `*`, `?` and `[...]`.
fn segment_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    wildcard(&p, &n)
}

fn wildcard(p: &[char], n: &[char]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => (0..=n.len()).any(|skip| wildcard(rest, &n[skip..])),
        Some(('?', rest)) => !n.is_empty() && wildcard(rest, &n[1..]),
        Some(('[', rest)) => match (class(rest), n.split_first()) {
            (Some((matcher, after)), Some((c, tail))) => matcher(*c) && wildcard(after, tail),
            // An unterminated `[` is a literal.
            (None, Some(('[', tail))) => wildcard(rest, tail),
            _ => false,
        },
        Some(('\\', rest)) if !rest.is_empty() => {
            n.first() == Some(&rest[0]) && wildcard(&rest[1..], &n[1..])
        }
        Some((c, rest)) => n.first() == Some(c) && wildcard(rest, &n[1..]),
    }
}

type ClassMatcher = Box<dyn Fn(char) -> bool>;

/// Parses `abc]`, `a-z]`, `!x]` (after the `[`); returns the matcher and what follows `]`.
fn class(p: &[char]) -> Option<(ClassMatcher, &[char])> {
    let (negate, body) = match p.first() {
        Some('!' | '^') => (true, &p[1..]),
        _ => (false, p),
    };
    let end = body.iter().skip(1).position(|&c| c == ']')? + 1;
    let items = body[..end].to_vec();
    let matcher = move |c: char| {
        let mut i = 0;
        let mut found = false;
        while i < items.len() {
            if i + 2 < items.len() && items[i + 1] == '-' {
                found |= (items[i]..=items[i + 2]).contains(&c);
                i += 3;
            } else {
                found |= items[i] == c;
                i += 1;
            }
        }
        found != negate
    };
    Some((Box::new(matcher), &body[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern).expect("pattern").matches(path)
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("dist", "dist"));
        assert!(m("./dist/", "dist"));
        assert!(!m("dist", "dist/a"));
        assert!(m("*.log", "build.log"));
        assert!(!m("*.log", "sub/build.log"));
        assert!(m("report-?.xml", "report-1.xml"));
        assert!(m("file[0-9].txt", "file7.txt"));
        assert!(!m("file[!0-9].txt", "file7.txt"));
        assert!(m("a[]]b", "a]b"));
        assert!(m("lit[eral", "lit[eral"));
    }

    #[test]
    fn doublestar() {
        assert!(m("**/*.txt", "a.txt"));
        assert!(m("**/*.txt", "x/y/a.txt"));
        assert!(m("out/**/*.o", "out/a.o"));
        assert!(m("out/**/*.o", "out/x/y/a.o"));
        assert!(!m("out/**/*.o", "other/a.o"));
        assert!(m("out/**", "out/x/y"));
    }

    #[test]
    fn empty_patterns_are_rejected() {
        assert_eq!(Pattern::new(""), None);
        assert_eq!(Pattern::new("./"), None);
    }
}
