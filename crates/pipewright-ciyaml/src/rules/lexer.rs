//! Tokens of the `rules:if` expression language.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Variable(String),
    String(String),
    Null,
    Bool(bool),
    /// `/source/flags` with `\/` unescaped.
    Pattern(String, String),
    Equals,
    NotEquals,
    Matches,
    NotMatches,
    And,
    Or,
    Open,
    Close,
}

/// `None` on any character the language does not know.
pub(crate) fn lex(input: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if tokens.len() > MAX_TOKENS {
            return None;
        }
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '$' => {
                // GitLab's lexer knows `$NAME` only (no `${NAME}`).
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                tokens.push(Token::Variable(chars[start..end].iter().collect()));
                i = end;
            }
            '"' | '\'' => {
                let end = (i + 1..chars.len()).find(|&j| chars[j] == c)?;
                tokens.push(Token::String(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '/' => {
                let (pattern, flags, end) = lex_pattern(&chars, i)?;
                tokens.push(Token::Pattern(pattern, flags));
                i = end;
            }
            '=' | '!' => {
                let token = match (c, next) {
                    ('=', Some('=')) => Token::Equals,
                    ('!', Some('=')) => Token::NotEquals,
                    ('=', Some('~')) => Token::Matches,
                    ('!', Some('~')) => Token::NotMatches,
                    _ => return None,
                };
                tokens.push(token);
                i += 2;
            }
            '&' if next == Some('&') => {
                tokens.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                tokens.push(Token::Or);
                i += 2;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.as_str() {
                    "null" => Token::Null,
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    _ => return None,
                });
            }
            _ => return None,
        }
    }
    // GitLab's lexer gives up after 100 tokens.
    (tokens.len() <= MAX_TOKENS).then_some(tokens)
}

const MAX_TOKENS: usize = 100;

/// A `/.../flags` literal starting at `start`; returns (source, flags, index after).
fn lex_pattern(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    let mut source = String::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i)?;
        match c {
            '\\' if chars.get(i + 1) == Some(&'/') => {
                source.push('/');
                i += 2;
            }
            '\\' => {
                source.push('\\');
                source.push(*chars.get(i + 1)?);
                i += 2;
            }
            '/' => break,
            _ => {
                source.push(c);
                i += 1;
            }
        }
    }
    if source.is_empty() {
        return None;
    }
    i += 1;
    let mut flags = String::new();
    while let Some(&c) = chars.get(i) {
        if "ismxU".contains(c) {
            flags.push(c);
            i += 1;
        } else {
            break;
        }
    }
    Some((source, flags, i))
}

/// A variable's value written as `/regex/flags` (the right side of `=~` may be one).
pub(crate) fn pattern_literal(text: &str) -> Option<(String, String)> {
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.first() != Some(&'/') {
        return None;
    }
    let (source, flags, end) = lex_pattern(&chars, 0)?;
    (end == chars.len()).then_some((source, flags))
}
