//! Paging, sorting and searching, with no SQL built from input.
//!
//! `order` values (Meshery's `"updated_at desc"`, `"lastRun asc"`, ...) parse into enums whose
//! SQL is a `&'static str` chosen by a `match`; anything else is refused with the allowed
//! values. `search` becomes a bound `LIKE` pattern with `\`, `%` and `_` escaped.

use chrono::{DateTime, Utc};

/// Largest page size served.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Page size when none is given (Meshery's).
pub const DEFAULT_PAGE_SIZE: i64 = 10;

/// A page of rows and the total number of rows that match.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows on this page.
    pub items: Vec<T>,
    /// Rows matching the filter, on all pages.
    pub total: i64,
}

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// 0-based page.
    pub page: i64,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`].
    pub page_size: i64,
    /// The bound `LIKE` pattern for the name, already escaped; `%` matches everything.
    pub search: String,
    /// Lower bound on the start time (results only).
    pub from: Option<DateTime<Utc>>,
    /// Upper bound (exclusive) on the start time (results only).
    pub to: Option<DateTime<Utc>>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { page: 0, page_size: DEFAULT_PAGE_SIZE, search: "%".into(), from: None, to: None }
    }
}

impl PageRequest {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        self.page.saturating_mul(self.page_size)
    }
}

/// The escaped, case-folded `LIKE` pattern for "name contains `search`" (`ESCAPE '\'`).
pub fn like_pattern(search: &str) -> String {
    let mut out = String::with_capacity(search.len() + 2);
    out.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// A refused `order` value; the message lists what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a sort order; use one of {allowed} followed by asc or desc")]
pub struct OrderError {
    /// What was sent (trimmed to 100 characters).
    pub given: String,
    /// The accepted columns.
    pub allowed: &'static str,
}

fn split_order(text: &str, allowed: &'static str) -> Result<(String, Direction), OrderError> {
    let err = || OrderError { given: text.chars().take(100).collect(), allowed };
    let mut words = text.split_whitespace();
    let column = words.next().ok_or_else(err)?.to_string();
    let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("desc") => Direction::Desc,
        Some("asc") => Direction::Asc,
        Some(_) => return Err(err()),
    };
    if words.next().is_some() {
        return Err(err());
    }
    Ok((column, direction))
}

/// How profiles may be sorted (Meshery's local allow-list: `updated_at|created_at|name|last_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileOrder {
    /// By last update.
    UpdatedAt(Direction),
    /// By creation.
    CreatedAt(Direction),
    /// By name.
    Name(Direction),
    /// By the start of the latest result.
    LastRun(Direction),
}

impl Default for ProfileOrder {
    fn default() -> Self {
        ProfileOrder::UpdatedAt(Direction::Desc)
    }
}

impl std::str::FromStr for ProfileOrder {
    type Err = OrderError;

    fn from_str(text: &str) -> Result<Self, OrderError> {
        const ALLOWED: &str = "updated_at, created_at, name, last_run (or camelCase)";
        let (column, d) = split_order(text, ALLOWED)?;
        Ok(match column.as_str() {
            "updated_at" | "updatedAt" => ProfileOrder::UpdatedAt(d),
            "created_at" | "createdAt" => ProfileOrder::CreatedAt(d),
            "name" => ProfileOrder::Name(d),
            "last_run" | "lastRun" => ProfileOrder::LastRun(d),
            _ => {
                return Err(OrderError { given: text.chars().take(100).collect(), allowed: ALLOWED });
            }
        })
    }
}

impl ProfileOrder {
    /// The fixed `ORDER BY` clause.
    pub fn sql(self) -> &'static str {
        use Direction::{Asc, Desc};
        match self {
            ProfileOrder::UpdatedAt(Asc) => "p.updated_at ASC, p.id ASC",
            ProfileOrder::UpdatedAt(Desc) => "p.updated_at DESC, p.id DESC",
            ProfileOrder::CreatedAt(Asc) => "p.created_at ASC, p.id ASC",
            ProfileOrder::CreatedAt(Desc) => "p.created_at DESC, p.id DESC",
            ProfileOrder::Name(Asc) => "p.name ASC, p.id ASC",
            ProfileOrder::Name(Desc) => "p.name DESC, p.id DESC",
            ProfileOrder::LastRun(Asc) => "last_run ASC NULLS LAST, p.id ASC",
            ProfileOrder::LastRun(Desc) => "last_run DESC NULLS LAST, p.id DESC",
        }
    }
}

/// How results may be sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultOrder {
    /// By the test's start.
    TestStartTime(Direction),
    /// By name.
    Name(Direction),
    /// By when the result was stored.
    CreatedAt(Direction),
    /// By last update.
    UpdatedAt(Direction),
}

impl Default for ResultOrder {
    fn default() -> Self {
        ResultOrder::TestStartTime(Direction::Desc)
    }
}

impl std::str::FromStr for ResultOrder {
    type Err = OrderError;

    fn from_str(text: &str) -> Result<Self, OrderError> {
        const ALLOWED: &str = "test_start_time, name, created_at, updated_at (or camelCase)";
        let (column, d) = split_order(text, ALLOWED)?;
        Ok(match column.as_str() {
            "test_start_time" | "testStartTime" => ResultOrder::TestStartTime(d),
            "name" => ResultOrder::Name(d),
            "created_at" | "createdAt" => ResultOrder::CreatedAt(d),
            "updated_at" | "updatedAt" => ResultOrder::UpdatedAt(d),
            _ => {
                return Err(OrderError { given: text.chars().take(100).collect(), allowed: ALLOWED });
            }
        })
    }
}

impl ResultOrder {
    /// The fixed `ORDER BY` clause.
    pub fn sql(self) -> &'static str {
        use Direction::{Asc, Desc};
        match self {
            ResultOrder::TestStartTime(Asc) => "test_start_time ASC, id ASC",
            ResultOrder::TestStartTime(Desc) => "test_start_time DESC, id DESC",
            ResultOrder::Name(Asc) => "name ASC, id ASC",
            ResultOrder::Name(Desc) => "name DESC, id DESC",
            ResultOrder::CreatedAt(Asc) => "created_at ASC, id ASC",
            ResultOrder::CreatedAt(Desc) => "created_at DESC, id DESC",
            ResultOrder::UpdatedAt(Asc) => "updated_at ASC, id ASC",
            ResultOrder::UpdatedAt(Desc) => "updated_at DESC, id DESC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(""), "%%");
        assert_eq!(like_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn orders_come_from_the_allow_list_only() {
        assert_eq!("updated_at desc".parse::<ProfileOrder>().unwrap().sql(), "p.updated_at DESC, p.id DESC");
        assert_eq!("lastRun asc".parse::<ProfileOrder>().unwrap(), ProfileOrder::LastRun(Direction::Asc));
        assert_eq!("name".parse::<ResultOrder>().unwrap(), ResultOrder::Name(Direction::Desc));
        for attack in [
            "name;ATTACH DATABASE '/tmp/x.db' AS x;--",
            "(CASE WHEN 1=1 THEN name END)",
            "created_at desc,1",
            "name desc; DROP TABLE profiles",
            "name asc --",
            "",
        ] {
            assert!(attack.parse::<ProfileOrder>().is_err(), "{attack}");
            assert!(attack.parse::<ResultOrder>().is_err(), "{attack}");
        }
    }
}
