//! `rules:if` / `only:variables` expressions: parse once, evaluate per pipeline.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use super::lexer::{Token, lex, pattern_literal};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Variable(String),
    String(String),
    Null,
    Bool(bool),
    Pattern(String, String),
    Equals(Box<Expr>, Box<Expr>),
    NotEquals(Box<Expr>, Box<Expr>),
    Matches(Box<Expr>, Box<Expr>),
    NotMatches(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// `None` = "invalid expression syntax".
pub(crate) fn parse(input: &str) -> Option<Expr> {
    let tokens = lex(input)?;
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.or(0)?;
    (parser.pos == parser.tokens.len()).then_some(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Option<Expr> {
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Some(left)
    }

    fn and(&mut self, depth: usize) -> Option<Expr> {
        let mut left = self.comparison(depth)?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            let right = self.comparison(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Some(left)
    }

    fn comparison(&mut self, depth: usize) -> Option<Expr> {
        let left = self.primary(depth)?;
        let build: fn(Box<Expr>, Box<Expr>) -> Expr = match self.peek() {
            Some(Token::Equals) => Expr::Equals,
            Some(Token::NotEquals) => Expr::NotEquals,
            Some(Token::Matches) => Expr::Matches,
            Some(Token::NotMatches) => Expr::NotMatches,
            _ => return Some(left),
        };
        self.pos += 1;
        let right = self.primary(depth)?;
        Some(build(Box::new(left), Box::new(right)))
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            return None;
        }
        let token = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        match token {
            Token::Variable(name) => Some(Expr::Variable(name)),
            Token::String(s) => Some(Expr::String(s)),
            Token::Null => Some(Expr::Null),
            Token::Bool(b) => Some(Expr::Bool(b)),
            // GitLab rejects an invalid regex literal as a syntax error.
            Token::Pattern(source, flags) => {
                compile(&source, &flags)?;
                Some(Expr::Pattern(source, flags))
            }
            Token::Open => {
                let inner = self.or(depth + 1)?;
                (self.peek() == Some(&Token::Close)).then_some(())?;
                self.pos += 1;
                Some(inner)
            }
            _ => None,
        }
    }
}

/// Values during evaluation, with Ruby's semantics (GitLab evaluates in Ruby).
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Str(String),
    Pattern(String, String),
    Bool(bool),
}

impl Val {
    /// Ruby truthiness: only `nil` and `false` are false (`""` is true).
    fn truthy(&self) -> bool {
        !matches!(self, Val::Null | Val::Bool(false))
    }

    /// Ruby's `present?`, applied to the statement's final value: set and not blank.
    fn present(&self) -> bool {
        match self {
            Val::Null | Val::Bool(false) => false,
            Val::Str(s) => !s.trim().is_empty(),
            Val::Pattern(..) | Val::Bool(true) => true,
        }
    }

    /// `to_s` of the left side of `=~`.
    fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Str(s) => s.clone(),
            Val::Pattern(source, _) => source.clone(),
            Val::Bool(b) => b.to_string(),
        }
    }
}

impl Expr {
    pub(crate) fn eval(&self, vars: &HashMap<String, String>) -> bool {
        self.value(vars).present()
    }

    fn value(&self, vars: &HashMap<String, String>) -> Val {
        match self {
            Expr::Variable(name) => vars.get(name).map_or(Val::Null, |v| Val::Str(v.clone())),
            Expr::String(s) => Val::Str(s.clone()),
            Expr::Null => Val::Null,
            Expr::Bool(b) => Val::Bool(*b),
            Expr::Pattern(source, flags) => Val::Pattern(source.clone(), flags.clone()),
            Expr::Equals(l, r) => Val::Bool(l.value(vars) == r.value(vars)),
            Expr::NotEquals(l, r) => Val::Bool(l.value(vars) != r.value(vars)),
            Expr::Matches(l, r) => Val::Bool(matches(&l.value(vars), &r.value(vars))),
            Expr::NotMatches(l, r) => Val::Bool(!matches(&l.value(vars), &r.value(vars))),
            // `a && b` / `a || b` return an operand, as in Ruby.
            Expr::And(l, r) => {
                let left = l.value(vars);
                if left.truthy() { r.value(vars) } else { left }
            }
            Expr::Or(l, r) => {
                let left = l.value(vars);
                if left.truthy() { left } else { r.value(vars) }
            }
        }
    }
}

/// `text =~ pattern`: a regex scan; a variable holding `/re/flags` is a regex, any other
/// string is scanned for the text (Ruby's `String#scan(text)`).
fn matches(text: &Val, pattern: &Val) -> bool {
    let text = text.text();
    match pattern {
        Val::Pattern(source, flags) => compile(source, flags).is_some_and(|re| re.is_match(&text)),
        Val::Str(s) => match pattern_literal(s) {
            Some((source, flags)) => compile(&source, &flags).is_some_and(|re| re.is_match(&text)),
            None => s.contains(text.as_str()),
        },
        Val::Bool(true) => text.is_empty(),
        Val::Null | Val::Bool(false) => false,
    }
}

/// `Some(matched)` when `pattern` is written `/regex/flags`, `None` for a plain string.
pub(crate) fn regex_literal_match(pattern: &str, text: &str) -> Option<bool> {
    let (source, flags) = pattern_literal(pattern)?;
    Some(compile(&source, &flags).is_some_and(|re| re.is_match(text)))
}

fn compile(source: &str, flags: &str) -> Option<Regex> {
    RegexBuilder::new(source)
        .case_insensitive(flags.contains('i'))
        // Ruby's `m` is "dot matches newline".
        .dot_matches_new_line(flags.contains('m') || flags.contains('s'))
        .ignore_whitespace(flags.contains('x'))
        .swap_greed(flags.contains('U'))
        .size_limit(1 << 20)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::parse;

    fn eval(expr: &str, vars: &[(&str, &str)]) -> Option<bool> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse(expr).map(|e| e.eval(&vars))
    }

    #[test]
    fn comparisons() {
        let v = [("BRANCH", "main"), ("EMPTY", ""), ("RE", "/^ma/")];
        assert_eq!(eval("$BRANCH == \"main\"", &v), Some(true));
        assert_eq!(eval("$BRANCH == 'dev'", &v), Some(false));
        assert_eq!(eval("$BRANCH != 'dev'", &v), Some(true));
        assert_eq!(eval("$MISSING == null", &v), Some(true));
        assert_eq!(eval("$EMPTY == null", &v), Some(false));
        assert_eq!(eval("$EMPTY == ''", &v), Some(true));
        assert_eq!(eval("$BRANCH", &v), Some(true));
        assert_eq!(eval("$EMPTY", &v), Some(false));
        assert_eq!(eval("$MISSING", &v), Some(false));
        assert_eq!(eval("$BRANCH =~ /^MA/i", &v), Some(true));
        assert_eq!(eval("$BRANCH =~ /^MA/", &v), Some(false));
        assert_eq!(eval("$BRANCH !~ /^dev/", &v), Some(true));
        assert_eq!(eval("$BRANCH =~ $RE", &v), Some(true));
        // A plain-string variable on the right is scanned for the left text.
        assert_eq!(
            eval(
                "$BRANCH =~ $LIST",
                &[("BRANCH", "main"), ("LIST", "main,dev")]
            ),
            Some(true)
        );
        assert_eq!(eval("$BRANCH == true", &v), Some(false));
        assert_eq!(eval("true", &v), Some(true));
        assert_eq!(eval("$MISSING =~ /^$/", &v), Some(true));
        assert_eq!(
            eval("$BRANCH =~ /release\\/.*/", &[("BRANCH", "release/1")]),
            Some(true)
        );
    }

    #[test]
    fn precedence_and_parentheses() {
        let v = [("A", "1"), ("B", "")];
        assert_eq!(eval("$A || $B && $C", &v), Some(true));
        assert_eq!(eval("($A || $B) && $C", &v), Some(false));
        assert_eq!(eval("$A == '1' && ($B == '' || $C)", &v), Some(true));
        // Ruby semantics: "" is truthy inside && / ||, only the final value must be present.
        assert_eq!(eval("$B && $A", &v), Some(true));
        assert_eq!(eval("$B || $A", &v), Some(false));
        assert_eq!(eval("$C || $A", &v), Some(true));
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "$A ==",
            "== 'a'",
            "$A = 'a'",
            "($A",
            "$A $B",
            "foo",
            "'unterminated",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
