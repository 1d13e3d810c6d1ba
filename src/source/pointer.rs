//! Where an HTTP source finds a field in an item: a JSON pointer (RFC 6901) that may also pick
//! an array element by the value of one of its fields, with fallbacks.
//!
//! - `/article` — a plain JSON pointer; a bare name `article` means `/article`.
//! - `/salePrices[priceType/name=Цена продажи]/value` — in the array `salePrices`, the first
//!   element whose `priceType/name` is `Цена продажи` (compared as text: a number matches its
//!   digits), then its `value`. No element matches: the field is absent (left alone).
//! - `/article || /code` — the first alternative that holds a value (present, not null, not
//!   empty text).
//!
//! Inside a selector the field is a pointer without its leading `/`; the value runs to the `]`
//! and may hold spaces and `/`. `~0` and `~1` escape `~` and `/` in names as in RFC 6901.

use serde_json::Value;

/// A parsed field path: its alternatives, each a list of steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    alternatives: Vec<Vec<Step>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object key, or an array index when the value there is an array.
    Key(String),
    /// The first array element whose value at `field` (a path of keys) has this text.
    Select { field: Vec<String>, value: String },
}

impl FieldPath {
    /// Parses a path as written in `[source.columns]`; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let mut alternatives = Vec::new();
        for alt in text.split("||").map(str::trim) {
            if alt.is_empty() {
                return Err(format!("`{text}`: an empty alternative around `||`; expected a pointer like /article on each side"));
            }
            alternatives.push(steps(alt).map_err(|why| format!("`{text}`: {why}"))?);
        }
        Ok(FieldPath { text: text.trim().to_string(), alternatives })
    }

    /// The value the path leads to in `item`, if any.
    pub fn find<'a>(&self, item: &'a Value) -> Option<&'a Value> {
        let last = self.alternatives.len() - 1;
        for (i, alt) in self.alternatives.iter().enumerate() {
            let found = walk(item, alt);
            if i == last || found.is_some_and(holds_value) {
                return found;
            }
        }
        None
    }

    /// The path as configured, for messages (`/salePrices[priceType/name=Цена продажи]/value`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn holds_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

/// One alternative: `/a/b[c/d=v]/e`, or a bare name.
fn steps(alt: &str) -> Result<Vec<Step>, String> {
    let Some(rest) = alt.strip_prefix('/') else {
        return Ok(vec![Step::Key(alt.to_string())]);
    };
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    let mut token = String::new();
    loop {
        match chars.next() {
            None => {
                out.push(Step::Key(unescape(&token)?));
                return Ok(out);
            }
            Some('/') => out.push(Step::Key(unescape(&std::mem::take(&mut token))?)),
            Some('[') => {
                if !token.is_empty() {
                    out.push(Step::Key(unescape(&std::mem::take(&mut token))?));
                }
                let mut inside = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a `[` without its `]`; expected [field=value]".into()),
                        Some(']') => break,
                        Some(c) => inside.push(c),
                    }
                }
                let (field, value) = inside
                    .split_once('=')
                    .ok_or_else(|| format!("`[{inside}]` has no `=`; expected [field=value], like [priceType/name=Цена продажи]"))?;
                let field = field.trim().trim_start_matches('/');
                if field.is_empty() {
                    return Err(format!("`[{inside}]` names no field before `=`"));
                }
                let field = field.split('/').map(unescape).collect::<Result<Vec<_>, _>>()?;
                out.push(Step::Select { field, value: value.trim().to_string() });
                match chars.next() {
                    None => return Ok(out),
                    Some('/') => {}
                    Some(c) => return Err(format!("`{c}` right after `]`; expected `/` or the end")),
                }
            }
            Some(c) => token.push(c),
        }
    }
}

fn unescape(token: &str) -> Result<String, String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return Err(format!("`{token}`: `~` must be followed by 0 or 1 (~0 is ~, ~1 is /)")),
        }
    }
    Ok(out)
}

fn walk<'a>(mut at: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        at = match step {
            Step::Key(k) => match at {
                Value::Object(map) => map.get(k)?,
                Value::Array(list) => list.get(k.parse::<usize>().ok()?)?,
                _ => return None,
            },
            Step::Select { field, value } => at.as_array()?.iter().find(|el| text_at(el, field).is_some_and(|t| t == *value))?,
        };
    }
    Some(at)
}

/// The text of the value at a path of keys, for a selector: strings as they are, numbers and
/// booleans as written.
fn text_at(el: &Value, field: &[String]) -> Option<String> {
    let mut at = el;
    for k in field {
        at = at.as_object()?.get(k)?;
    }
    match at {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> Value {
        json!({
            "article": "",
            "code": "00042",
            "id": "7944ef04-f831-11e5-7a69-971500188b19",
            "salePrices": [
                {"value": 619000.0, "priceType": {"name": "Цена продажи", "id": "p-1"}},
                {"value": 580000.0, "priceType": {"name": "Оптовая цена", "id": "p-2"}},
                {"value": 1, "priceType": {"name": 7}}
            ],
            "a/b": {"~x": 5}
        })
    }

    fn find(path: &str) -> Option<Value> {
        FieldPath::parse(path).unwrap().find(&item()).cloned()
    }

    #[test]
    fn pointers_select_elements_and_fall_back() {
        assert_eq!(find("/code"), Some(json!("00042")));
        assert_eq!(find("code"), Some(json!("00042")), "a bare name is a top-level key");
        assert_eq!(find("/salePrices/1/value"), Some(json!(580000.0)), "plain RFC 6901 indexes still work");
        assert_eq!(find("/salePrices[priceType/name=Цена продажи]/value"), Some(json!(619000.0)));
        assert_eq!(find("/salePrices[ priceType/name = Оптовая цена ]/value"), Some(json!(580000.0)));
        assert_eq!(find("/salePrices[priceType/id=p-2]"), Some(json!({"value": 580000.0, "priceType": {"name": "Оптовая цена", "id": "p-2"}})));
        assert_eq!(find("/salePrices[priceType/name=7]/value"), Some(json!(1)), "numbers compare as their text");
        assert_eq!(find("/salePrices[priceType/name=Закупочная]/value"), None, "no such price type: absent");
        assert_eq!(find("/code[x=1]"), None, "a selector on a non-array finds nothing");
        assert_eq!(find("/article || /code"), Some(json!("00042")), "an empty article falls back to the code");
        assert_eq!(find("/code || /article"), Some(json!("00042")));
        assert_eq!(find("/missing || /article"), Some(json!("")), "the last alternative is taken as it is");
        assert_eq!(find("/a~1b/~0x"), Some(json!(5)));
    }

    #[test]
    fn malformed_paths_say_what_is_wrong() {
        let err = |p: &str| FieldPath::parse(p).unwrap_err();
        assert_eq!(err("/salePrices[priceType/name/value"), "`/salePrices[priceType/name/value`: a `[` without its `]`; expected [field=value]");
        assert!(err("/salePrices[priceType]/value").contains("`[priceType]` has no `=`"));
        assert!(err("/salePrices[=x]").contains("names no field"));
        assert!(err("/salePrices[a=b]value").contains("`v` right after `]`"));
        assert!(err("/article ||").contains("an empty alternative"));
        assert!(err("/a~2").contains("`~` must be followed by 0 or 1"));
    }
}
