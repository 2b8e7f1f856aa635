//! GitHub Actions expressions, as far as the example workflows use them:
//! context paths (`matrix.site.name`, `secrets[matrix.site.secret]`), string
//! literals, `==` `!=` `&&` `||` `!`, and `fromJSON` / `toJSON` / `success`
//! / `always` / `failure`. Anything else is a test failure, so a workflow
//! cannot grow an expression this runner would silently get wrong.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                assert!(i < chars.len(), "unterminated string in `{text}`");
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            out.push(Token::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let n: String = chars[start..i].iter().collect();
            out.push(Token::Num(n.parse().unwrap()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "&&", "||"]
                .into_iter()
                .find(|op| *op == two)
                .map(|op| (op, 2))
                .or_else(|| {
                    ["(", ")", "[", "]", ".", ",", "!"]
                        .into_iter()
                        .find(|op| op.starts_with(c))
                        .map(|op| (op, 1))
                })
                .unwrap_or_else(|| panic!("unsupported character `{c}` in `{text}`"));
            out.push(Token::Op(op.0));
            i += op.1;
        }
    }
    out
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    context: &'a Value,
    /// Whether every earlier step succeeded (for `success()`).
    ok: bool,
    text: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek() == Some(&Token::Op(static_op(op))) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) {
        assert!(self.eat(op), "expected `{op}` in `{}`", self.text);
    }

    fn or(&mut self) -> Value {
        let mut left = self.and();
        while self.eat("||") {
            let right = self.and();
            left = if truthy(&left) { left } else { right };
        }
        left
    }

    fn and(&mut self) -> Value {
        let mut left = self.unary();
        while self.eat("&&") {
            let right = self.unary();
            left = if truthy(&left) { right } else { left };
        }
        left
    }

    fn unary(&mut self) -> Value {
        if self.eat("!") {
            return Value::Bool(!truthy(&self.unary()));
        }
        let left = self.postfix();
        if self.eat("==") {
            return Value::Bool(loose_eq(&left, &self.postfix()));
        }
        if self.eat("!=") {
            return Value::Bool(!loose_eq(&left, &self.postfix()));
        }
        left
    }

    fn postfix(&mut self) -> Value {
        let mut value = self.primary();
        loop {
            if self.eat(".") {
                let Some(Token::Ident(name)) = self.tokens.get(self.at).cloned() else {
                    panic!("expected a property name in `{}`", self.text);
                };
                self.at += 1;
                value = value.get(&name).cloned().unwrap_or(Value::Null);
            } else if self.eat("[") {
                let index = self.or();
                self.expect("]");
                value = match index {
                    Value::String(s) => value.get(&s).cloned(),
                    Value::Number(n) => value.get(n.as_u64().unwrap() as usize).cloned(),
                    other => panic!("cannot index by {other} in `{}`", self.text),
                }
                .unwrap_or(Value::Null);
            } else {
                return value;
            }
        }
    }

    fn primary(&mut self) -> Value {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Num(n)) => serde_json::json!(n),
            Some(Token::Op("(")) => {
                let v = self.or();
                self.expect(")");
                v
            }
            Some(Token::Ident(name)) if self.eat("(") => {
                let mut args = Vec::new();
                if !self.eat(")") {
                    loop {
                        args.push(self.or());
                        if self.eat(")") {
                            break;
                        }
                        self.expect(",");
                    }
                }
                self.call(&name, &args)
            }
            Some(Token::Ident(name)) => match name.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => self
                    .context
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| panic!("unknown context `{name}` in `{}`", self.text)),
            },
            other => panic!("unexpected {other:?} in `{}`", self.text),
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Value {
        match (name, args) {
            ("fromJSON", [Value::String(s)]) => {
                serde_json::from_str(s).unwrap_or_else(|e| panic!("fromJSON({s}): {e}"))
            }
            ("toJSON", [v]) => Value::String(v.to_string()),
            ("success", []) => Value::Bool(self.ok),
            ("failure", []) => Value::Bool(!self.ok),
            ("always", []) => Value::Bool(true),
            _ => panic!("unsupported call {name}{args:?} in `{}`", self.text),
        }
    }
}

fn static_op(op: &str) -> &'static str {
    ["==", "!=", "&&", "||", "(", ")", "[", "]", ".", ",", "!"]
        .into_iter()
        .find(|o| *o == op)
        .unwrap()
}

pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// GitHub compares strings without regard to case.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Evaluates one expression (the text between `${{` and `}}`, or an `if:`).
pub(super) fn eval(text: &str, context: &Value, ok: bool) -> Value {
    let mut parser = Parser {
        tokens: tokens(text),
        at: 0,
        context,
        ok,
        text,
    };
    let value = parser.or();
    assert!(
        parser.at == parser.tokens.len(),
        "trailing tokens in `{text}`"
    );
    value
}

/// A value as GitHub writes it into a string.
pub(super) fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Replaces each `${{ … }}` in a string. A string that is one whole
/// expression keeps the expression's type (a matrix list stays a list).
pub(super) fn interpolate(text: &str, context: &Value) -> Value {
    let trimmed = text.trim();
    if trimmed.starts_with("${{") && trimmed.ends_with("}}") && trimmed.matches("${{").count() == 1
    {
        return eval(&trimmed[3..trimmed.len() - 2], context, true);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed expression in `{text}`"));
        out.push_str(&to_text(&eval(
            &rest[start + 3..start + end],
            context,
            true,
        )));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Value::String(out)
}

#[test]
fn expressions_evaluate_as_github_does() {
    let context = serde_json::json!({
        "matrix": {"site": {"name": "acme", "secret": "KEY_ACME"}},
        "secrets": {"KEY_ACME": "s3cret"},
        "needs": {"sites": {"outputs": {"sites": "[]"}}},
    });
    assert_eq!(
        eval("secrets[matrix.site.secret]", &context, true),
        "s3cret"
    );
    assert_eq!(
        eval("needs.sites.outputs.sites != '[]'", &context, true),
        false
    );
    assert_eq!(
        eval("fromJSON('[1]')", &context, true),
        serde_json::json!([1])
    );
    assert_eq!(eval("matrix.nope.deeper", &context, true), Value::Null);
    assert_eq!(
        interpolate("a-${{ matrix.site.name }}-b", &context),
        "a-acme-b"
    );
    assert_eq!(eval("!success() || always()", &context, false), true);
}
