//! Ruby `File.fnmatch` with FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB, as GitLab uses for
//! `changes`, `exists` and `include:local` globs.

use regex::Regex;

pub(crate) struct Glob(Regex);

impl Glob {
    /// `None` when the pattern cannot be turned into a matcher.
    pub(crate) fn new(pattern: &str) -> Option<Glob> {
        let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
        let mut re = String::from("^");
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut braces = 0usize;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' if chars.get(i + 1) == Some(&'*') && chars.get(i + 2) == Some(&'/') => {
                    re.push_str("(?:.*/)?");
                    i += 3;
                    continue;
                }
                '*' => {
                    while chars.get(i + 1) == Some(&'*') {
                        i += 1;
                    }
                    re.push_str("[^/]*");
                }
                '?' => re.push_str("[^/]"),
                '[' => {
                    let end = (i + 1..chars.len()).find(|&j| chars[j] == ']' && j > i + 1)?;
                    let mut class: String = chars[i + 1..end].iter().collect();
                    if let Some(rest) = class.strip_prefix('!') {
                        class = format!("^{rest}");
                    }
                    re.push('[');
                    re.push_str(&class.replace('\\', "\\\\").replace('[', "\\["));
                    re.push(']');
                    i = end;
                }
                '{' => {
                    braces += 1;
                    re.push_str("(?:");
                }
                ',' if braces > 0 => re.push('|'),
                '}' if braces > 0 => {
                    braces -= 1;
                    re.push(')');
                }
                '\\' if i + 1 < chars.len() => {
                    i += 1;
                    re.push_str(&regex::escape(&chars[i].to_string()));
                }
                _ => re.push_str(&regex::escape(&c.to_string())),
            }
            i += 1;
        }
        if braces > 0 {
            return None;
        }
        re.push('$');
        Regex::new(&re).ok().map(Glob)
    }

    pub(crate) fn matches(&self, path: &str) -> bool {
        self.0.is_match(path.strip_prefix("./").unwrap_or(path))
    }
}

/// True when any path matches any pattern.
pub(crate) fn any_match(patterns: &[String], paths: &[String]) -> bool {
    patterns
        .iter()
        .filter_map(|p| Glob::new(p))
        .any(|glob| paths.iter().any(|path| glob.matches(path)))
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).is_some_and(|g| g.matches(path))
    }

    #[test]
    fn fnmatch_rules() {
        assert!(m("*.md", "README.md"));
        assert!(!m("*.md", "docs/README.md"));
        assert!(m("docs/**/*.md", "docs/a/b/c.md"));
        assert!(m("docs/**/*.md", "docs/c.md"));
        assert!(m("**/*.rb", "app/models/user.rb"));
        assert!(m("**/*.rb", "user.rb"));
        assert!(m("*.{js,ts}", "a.ts"));
        assert!(!m("*.{js,ts}", "a.rs"));
        assert!(m("file?.txt", "file1.txt"));
        assert!(m("[ab].txt", "a.txt"));
        assert!(!m("[!ab].txt", "a.txt"));
        assert!(m(".*", ".gitlab-ci.yml"));
        assert!(m("Dockerfile", "Dockerfile"));
        assert!(!m("Dockerfile", "sub/Dockerfile"));
    }
}
