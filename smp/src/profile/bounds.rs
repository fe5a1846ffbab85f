//! Limits checked on profile text *before* it is parsed: YAML parsers spend time quadratic in
//! the nesting of flow collections (`[[[[...]]]]`), so a 100 KB body could hold a thread for
//! seconds. One linear pass measures how deep the text nests; deeper than [`MAX_DEPTH`] is
//! refused. Real profiles nest five or six levels.

use crate::error::SmpError;

/// Deepest nesting accepted (flow brackets plus block indentation levels).
pub const MAX_DEPTH: usize = 32;

/// Refuses text nested deeper than [`MAX_DEPTH`]; stops reading as soon as it is.
pub(crate) fn check_depth(text: &str) -> Result<(), SmpError> {
    if depth(text, MAX_DEPTH) > MAX_DEPTH {
        return Err(SmpError::field(
            "(top level)",
            format!("the profile nests more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are accepted"),
        ));
    }
    Ok(())
}

/// An upper bound of the nesting depth of YAML or JSON text, in one pass over its bytes: open
/// flow brackets outside quotes, plus the block levels implied by indentation and `- `
/// sequence markers. Returns as soon as the depth passes `limit`.
pub(crate) fn depth(text: &str, limit: usize) -> usize {
    let mut deepest = 0;
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        if flow == 0 && !body.is_empty() && !body.starts_with('#') {
            let indent = line.len() - body.len();
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - - x` opens a sequence per marker on one line.
            let mut rest = body;
            let mut dashes = 0;
            while let Some(r) = rest.strip_prefix("- ").or_else(|| (rest == "-").then_some("")) {
                dashes += 1;
                rest = r.trim_start_matches(' ');
            }
            deepest = deepest.max(indents.len() + dashes);
            if deepest > limit {
                return deepest;
            }
        }
        let mut quote: Option<u8> = None;
        let mut escaped = false;
        for &c in line.as_bytes() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if c == b'\\' && q == b'"' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    b'"' | b'\'' => quote = Some(c),
                    b'#' if flow == 0 => break,
                    b'[' | b'{' => {
                        flow += 1;
                        deepest = deepest.max(indents.len() + flow);
                        if deepest > limit {
                            return deepest;
                        }
                    }
                    b']' | b'}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_flow_block_and_json_nesting() {
        assert!(depth("name: x\nclients:\n- endpoint_urls: [\"http://a/\"]\n  rps: 1\n", 99) <= 4);
        assert_eq!(depth(&format!("test: {}{}", "[".repeat(50), "]".repeat(50)), 99), 51);
        assert_eq!(depth(&format!("{}1{}", "[".repeat(40), "]".repeat(40)), 99), 41);
        assert_eq!(depth(&format!("{}1{}", "[".repeat(40), "]".repeat(40)), 10), 11, "stops past the limit");
        assert!(depth(&format!("- {}x", "- ".repeat(40)), 99) >= 41);
        let block: String = (0..40).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        assert_eq!(depth(&block, 99), 40);
        assert_eq!(depth("a: \"[[[[[[[[\"\nb: '{{{{{{'\nc: 1 # [[[[[[\n", 99), 1);
        assert!(check_depth(&format!("test: {}", "[".repeat(100_000))).is_err());
    }
}
