//! The functions of an interpolation block (`$[[ inputs.x | expand_vars | truncate(0,8) ]]`):
//! `expand_vars`, `truncate(offset,length)` and `posix_escape`, with GitLab's messages.

use std::collections::HashMap;

use serde_norway::Value;

pub(crate) enum Function {
    Truncate { offset: usize, length: usize },
    ExpandVars,
    PosixEscape,
}

impl Function {
    /// The function an expression names, or GitLab's "no function matching" message.
    pub(crate) fn parse(expression: &str) -> Result<Function, String> {
        match expression {
            "expand_vars" => return Ok(Function::ExpandVars),
            "posix_escape" => return Ok(Function::PosixEscape),
            _ => {}
        }
        truncate(expression).ok_or_else(|| {
            format!(
                "no function matching `{expression}`: check that the function name, arguments, and types are correct"
            )
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Function::Truncate { .. } => "truncate",
            Function::ExpandVars => "expand_vars",
            Function::PosixEscape => "posix_escape",
        }
    }

    pub(crate) fn apply(
        &self,
        value: Value,
        variables: &HashMap<String, String>,
    ) -> Result<Value, String> {
        let Value::String(text) = value else {
            return Err(format!(
                "error in `{0}` function: invalid input type: {0} can only be used with string inputs",
                self.name()
            ));
        };
        Ok(Value::String(match self {
            Function::Truncate { offset, length } => {
                text.chars().skip(*offset).take(*length).collect()
            }
            Function::ExpandVars => expand_existing(&text, variables),
            Function::PosixEscape => shell_escape(&text),
        }))
    }
}

/// `truncate(<offset>, <length>)`; like GitLab's pattern, the closing parenthesis is optional.
fn truncate(expression: &str) -> Option<Function> {
    let args = expression.strip_prefix("truncate(")?;
    let args = args.strip_suffix(')').unwrap_or(args);
    let (offset, length) = args.split_once(',')?;
    let number = |text: &str| -> Option<usize> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Offsets past any string just give an empty result.
        Some(text.parse().unwrap_or(usize::MAX))
    };
    Some(Function::Truncate {
        offset: number(offset)?,
        length: number(length)?,
    })
}

/// GitLab's `ExpandVariables.expand_existing`: `$VAR`, `${VAR}` and `%VAR%` of known
/// variables are replaced, one level deep; unknown references are kept as written.
fn expand_existing(text: &str, variables: &HashMap<String, String>) -> String {
    let chars: Vec<char> = text.chars().collect();
    let name_at = |start: usize| -> usize {
        let mut end = start;
        if chars
            .get(end)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
        {
            end += 1;
            while chars
                .get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                end += 1;
            }
        }
        end
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let (start, close) = match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => (i + 2, Some('}')),
            '$' => (i + 1, None),
            '%' => (i + 1, Some('%')),
            _ => (i, None),
        };
        if start > i {
            let end = name_at(start);
            let closed = close.is_none_or(|c| chars.get(end) == Some(&c));
            if end > start && closed {
                let name: String = chars[start..end].iter().collect();
                if let Some(value) = variables.get(&name) {
                    out.push_str(value);
                    i = if close.is_some() { end + 1 } else { end };
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Ruby's `Shellwords.escape`: a backslash before every character outside
/// `[A-Za-z0-9_\-.,:+/@\n]`, newlines quoted, `''` for the empty string.
fn shell_escape(text: &str) -> String {
    if text.is_empty() {
        return "''".to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("'\n'"),
            c if c.is_ascii_alphanumeric() || "_-.,:+/@".contains(c) => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_norway::Value;

    use super::Function;

    fn apply(expression: &str, input: &str) -> Result<Value, String> {
        let vars = HashMap::from([("MY_VAR".to_owned(), "my value".to_owned())]);
        Function::parse(expression)?.apply(Value::String(input.into()), &vars)
    }

    #[test]
    fn functions_follow_gitlab_examples() {
        assert_eq!(
            apply("truncate(3,5)", "0123456789"),
            Ok(Value::String("34567".into()))
        );
        assert_eq!(
            apply("truncate(20, 5)", "0123"),
            Ok(Value::String(String::new()))
        );
        assert_eq!(
            apply("expand_vars", "test $MY_VAR ${NOPE} %MY_VAR%"),
            Ok(Value::String("test my value ${NOPE} my value".into()))
        );
        assert_eq!(
            apply("posix_escape", "a 'b' \"c\""),
            Ok(Value::String("a\\ \\'b\\'\\ \\\"c\\\"".into()))
        );
        assert_eq!(apply("posix_escape", ""), Ok(Value::String("''".into())));
    }

    #[test]
    fn unknown_functions_and_wrong_types_are_errors() {
        assert_eq!(
            apply("upcase", "x").err(),
            Some(
                "no function matching `upcase`: check that the function name, arguments, and types are correct"
                    .to_owned()
            )
        );
        let vars = HashMap::new();
        let result =
            Function::parse("truncate(0,1)").and_then(|f| f.apply(Value::Number(1.into()), &vars));
        assert_eq!(
            result.err(),
            Some(
                "error in `truncate` function: invalid input type: truncate can only be used with string inputs"
                    .to_owned()
            )
        );
    }
}
