//! A strict, path-aware reader over parsed JSON/YAML values.
//!
//! Keys are accepted in snake_case or camelCase (`endpointUrls` → `endpoint_urls`); a key
//! that is not allowed, or given twice in two spellings, is an error naming its path. Values
//! are checked for type and range with messages that say what to write instead.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::SmpError;

/// Joins a path and a key: `test` + `name` → `test.name`; `` + `name` → `name`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// At most 60 characters of `text`, for messages.
pub(crate) fn short(text: &str) -> String {
    text.chars().take(60).collect()
}

/// `camelCase` (or `snake_case`) to `snake_case`: an underscore before an uppercase letter
/// that follows a lowercase letter or digit, then lowercase (`endpointURLs` → `endpoint_urls`).
pub(crate) fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c.is_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    out
}

/// An object being read: its remaining keys in canonical snake_case.
pub(crate) struct Obj {
    path: String,
    map: Map<String, Value>,
}

impl Obj {
    /// Reads `value` at `path` as an object whose keys (after snake-casing and `aliases`)
    /// must be in `allowed`.
    pub(crate) fn new(value: Value, path: &str, allowed: &[&str], aliases: &[(&str, &str)]) -> Result<Obj, SmpError> {
        let Value::Object(raw) = value else {
            return Err(SmpError::field(
                shown(path),
                format!("expected an object (key: value pairs), found {}", kind(&value)),
            ));
        };
        let mut map = Map::new();
        for (key, v) in raw {
            let mut canonical = snake(&key);
            if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == canonical) {
                canonical = (*to).to_string();
            }
            if !allowed.contains(&canonical.as_str()) {
                return Err(SmpError::UnknownKey { path: join(path, &key), hint: hint(&canonical, allowed) });
            }
            if map.contains_key(&canonical) {
                return Err(SmpError::field(
                    join(path, &key),
                    format!("`{canonical}` is given twice (in two spellings); keep one"),
                ));
            }
            map.insert(canonical, v);
        }
        Ok(Obj { path: path.to_string(), map })
    }

    /// The object's path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The path of one of its keys.
    pub(crate) fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Removes and returns `key`'s value unless absent or null.
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// A string; numbers and booleans are accepted as their text. Absent → empty.
    pub(crate) fn string(&mut self, key: &str) -> Result<String, SmpError> {
        match self.take(key) {
            None => Ok(String::new()),
            Some(v) => {
                scalar_string(v).map_err(|found| SmpError::field(self.at(key), format!("expected text, found {found}")))
            }
        }
    }

    /// A boolean (`true`/`false`, also the strings "true"/"false"). Absent → false.
    pub(crate) fn bool(&mut self, key: &str) -> Result<bool, SmpError> {
        match self.take(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(SmpError::field(self.at(key), format!("expected true or false, found {}", kind(&v)))),
        }
    }

    /// A whole number in `min..=max` (numeric strings accepted). Absent → `None`.
    pub(crate) fn int(&mut self, key: &str, min: i64, max: i64) -> Result<Option<i64>, SmpError> {
        let Some(v) = self.take(key) else { return Ok(None) };
        let path = self.at(key);
        let n =
            whole(&v).ok_or_else(|| SmpError::field(&path, format!("expected a whole number, found {}", kind(&v))))?;
        if n < min {
            return Err(SmpError::field(path, format!("must be >= {min}")));
        }
        if n > max {
            return Err(SmpError::field(path, format!("must be <= {max}")));
        }
        Ok(Some(n))
    }

    /// A map of strings; scalar values are turned into text. Absent → empty.
    pub(crate) fn string_map(&mut self, key: &str) -> Result<BTreeMap<String, String>, SmpError> {
        match self.take(key) {
            None => Ok(BTreeMap::new()),
            Some(v) => string_map(v, &self.at(key)),
        }
    }

    /// A list of strings; a single string is a list of one. Absent → empty.
    pub(crate) fn string_list(&mut self, key: &str) -> Result<Vec<String>, SmpError> {
        let path = self.at(key);
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s]),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    scalar_string(v).map_err(|found| {
                        SmpError::field(format!("{path}[{i}]"), format!("expected text, found {found}"))
                    })
                })
                .collect(),
            Some(v) => Err(SmpError::field(path, format!("expected a list of text, found {}", kind(&v)))),
        }
    }
}

/// A JSON object of string values, at `path`.
pub(crate) fn string_map(v: Value, path: &str) -> Result<BTreeMap<String, String>, SmpError> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                let text = scalar_string(v)
                    .map_err(|found| SmpError::field(join(path, &k), format!("expected text, found {found}")))?;
                Ok((k, text))
            })
            .collect(),
        other => Err(SmpError::field(shown(path), format!("expected a map of name: value, found {}", kind(&other)))),
    }
}

fn scalar_string(v: Value) -> Result<String, &'static str> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(kind(&other)),
    }
}

/// A whole number from a number or numeric string.
pub(crate) fn whole(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What kind of value this is, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn shown(path: &str) -> String {
    if path.is_empty() { "(top level)".into() } else { path.to_string() }
}

/// "did you mean `x`?" for a close key, else the list of allowed keys.
fn hint(key: &str, allowed: &[&str]) -> String {
    let best = allowed.iter().map(|a| (distance(key, a), *a)).min();
    match best {
        Some((d, a)) if d <= 2 || (d <= 3 && key.len() > 8) => format!("did you mean `{a}`?"),
        _ => format!("allowed keys are {}", allowed.join(", ")),
    }
}

/// Levenshtein distance (short keys only, so quadratic is fine).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn snake_cases_keys() {
        for (from, to) in [
            ("endpointUrls", "endpoint_urls"),
            ("endpointURLs", "endpoint_urls"),
            ("smp_version", "smp_version"),
            ("smpVersion", "smp_version"),
            ("loadGenerator", "load_generator"),
            ("h2Streams", "h2_streams"),
            ("MethodOverride", "method_override"),
        ] {
            assert_eq!(snake(from), to);
        }
    }

    #[test]
    fn reads_values_with_paths() {
        let v = json!({"rps": "10", "rPs2": 1, "list": "one", "m": {"a": 1, "b": true}});
        let err = Obj::new(v.clone(), "test.clients[0]", &["rps", "list", "m"], &[]).err().unwrap();
        assert_eq!(err.to_string(), "test.clients[0].rPs2: unknown key; did you mean `rps`?");
        let mut o = Obj::new(v, "c", &["rps", "r_ps2", "list", "m"], &[]).unwrap();
        assert_eq!(o.int("rps", 0, 100).unwrap(), Some(10));
        assert_eq!(o.string_list("list").unwrap(), vec!["one"]);
        assert_eq!(o.string_map("m").unwrap()["b"], "true");
        assert_eq!(o.int("missing", 0, 1).unwrap(), None);
        let mut o = Obj::new(json!({"rps": -1, "x": 1.5}), "t", &["rps", "x"], &[]).unwrap();
        assert_eq!(o.int("rps", 0, 10).unwrap_err().to_string(), "t.rps: must be >= 0");
        assert!(o.int("x", 0, 10).unwrap_err().to_string().contains("whole number"));
        let err = Obj::new(json!({"a": 1, "A": 2}), "", &["a"], &[]).err().unwrap();
        assert!(err.to_string().contains("given twice"));
        assert!(Obj::new(json!([1]), "", &["a"], &[]).is_err());
    }
}
