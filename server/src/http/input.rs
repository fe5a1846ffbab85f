//! Reading request input with errors that name the field: bodies (size-limited, then their
//! nesting bounded and parsed on a blocking thread, never on the async threads) and query
//! strings (each value parsed by name).

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use bytes::Bytes;

use super::AppState;
use crate::error::ServiceError;

/// A request body, read whole under the size limit (`MESHPERF_MAX_BODY`).
#[derive(Debug, Clone)]
pub struct Body {
    /// The bytes.
    pub bytes: Bytes,
    /// The `Content-Type`, lowercased, without parameters.
    pub content_type: String,
}

impl FromRequest<AppState> for Body {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ServiceError> {
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_default();
        let limit = state.config.max_body;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::TooLarge { what: "the request body".into(), limit, rule: "MESHPERF_MAX_BODY" }
            } else {
                ServiceError::invalid("(body)", e.body_text())
            }
        })?;
        Ok(Body { bytes, content_type })
    }
}

impl Body {
    /// Whether the body is empty (or only whitespace).
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, ServiceError> {
        std::str::from_utf8(&self.bytes).map_err(|_| ServiceError::invalid("(body)", "is not UTF-8 text"))
    }

    /// Parses the body (YAML, or JSON when it starts with `{`) into a value: its nesting is
    /// bounded first and the parse runs on a blocking thread, so no body holds an async
    /// thread. Errors name the body.
    pub async fn value(&self) -> Result<serde_json::Value, ServiceError> {
        if self.is_blank() {
            return Err(ServiceError::invalid("(body)", "the body is empty; send a JSON object"));
        }
        let text = self.text()?.to_string();
        off_thread(move || smp::profile::parse_value(&text)).await?.map_err(|e| match e {
            smp::SmpError::Field { reason, .. } => ServiceError::invalid("(body)", reason),
            other => ServiceError::invalid("(body)", other.to_string()),
        })
    }
}

/// Runs CPU work on the blocking pool and waits for it.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work).await.map_err(ServiceError::internal)
}

/// A query string as name → value (the last of repeated names wins).
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Params(url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    /// The value of the first present name among `names`, if not empty.
    pub fn get<'a>(&'a self, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
        #[cfg(test)]
        asked::record(names);
        names.iter().find_map(|n| self.0.get(*n).map(|v| (*n, v.as_str()))).filter(|(_, v)| !v.trim().is_empty())
    }

    /// A string value.
    pub fn text(&self, names: &[&str]) -> Option<String> {
        self.get(names).map(|(_, v)| v.to_string())
    }

    /// A parsed value; a value that does not parse is an error naming the parameter.
    pub fn number<T: std::str::FromStr>(&self, names: &[&str], what: &str) -> Result<Option<T>, ServiceError> {
        match self.get(names) {
            None => Ok(None),
            Some((name, v)) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ServiceError::invalid(name, format!("{:?} is not {what}", truncate(v)))),
        }
    }
}

/// The names query readers asked for on this thread, so tests can check every name a reader
/// accepts against the OpenAPI document.
#[cfg(test)]
pub(crate) mod asked {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static ASKED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
    }

    pub(crate) fn record(names: &[&str]) {
        ASKED.with(|a| a.borrow_mut().extend(names.iter().map(|n| n.to_string())));
    }

    /// The names asked for since the last call, and forgets them.
    pub(crate) fn take() -> BTreeSet<String> {
        ASKED.with(|a| std::mem::take(&mut *a.borrow_mut()))
    }
}

/// `text` cut to 100 characters for messages.
pub fn truncate(text: &str) -> String {
    text.chars().take(100).collect()
}

/// The paging parameters of Meshery's lists as the OpenAPI document shows them; the reader is
/// [`page_request`]. A blank value counts as absent.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, 0-based (default 0).
    #[param(minimum = 0, example = 0)]
    pub page: Option<i64>,
    /// Rows per page, 1 to 1000 (default 10). Also spelled `pageSize` or `page_size`; when
    /// several are given, `pagesize` wins, then `pageSize`.
    #[param(minimum = 1, maximum = 1000, example = 10)]
    pub pagesize: Option<i64>,
    /// Another spelling of `pagesize` (current Meshery).
    #[param(rename = "pageSize", minimum = 1, maximum = 1000, example = 10)]
    pub page_size_camel: Option<i64>,
    /// Another spelling of `pagesize`.
    #[param(minimum = 1, maximum = 1000, example = 10)]
    pub page_size: Option<i64>,
    /// Keeps the rows whose name contains this text, case-insensitively (`%` and `_` are
    /// plain characters). At most 255 characters.
    #[param(max_length = 255, example = "smoke")]
    pub search: Option<String>,
}

/// The date bounds of result lists as the OpenAPI document shows them; the reader is
/// [`page_request`] with `dates`.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateQuery {
    /// Results whose test started on or after this day (`YYYY-MM-DD`, UTC) or time (RFC 3339).
    #[param(value_type = Option<DateOrTime>, inline, example = "2026-01-31")]
    pub from: Option<String>,
    /// Results whose test started on or before this day (`YYYY-MM-DD`, the whole day, UTC) or
    /// before this time (RFC 3339).
    #[param(value_type = Option<DateOrTime>, inline, example = "2026-12-31")]
    pub to: Option<String>,
}

/// A day (`YYYY-MM-DD`) or an RFC 3339 time (OpenAPI only).
#[derive(Debug, Clone, Copy)]
pub struct DateOrTime;

impl utoipa::PartialSchema for DateOrTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
        let format = |f| ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(f)));
        AnyOfBuilder::new().item(format(KnownFormat::Date)).item(format(KnownFormat::DateTime)).into()
    }
}

impl utoipa::ToSchema for DateOrTime {}

/// The paging parameters Meshery's lists take: `page` (0-based), `pagesize`/`pageSize`,
/// `search`, and with `dates`, `from`/`to` (`YYYY-MM-DD`, inclusive, or RFC 3339 times).
pub fn page_request(p: &Params, dates: bool) -> Result<crate::store::PageRequest, ServiceError> {
    use crate::store::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, like_pattern};
    let page: i64 = p.number(&["page"], "a page number (0-based)")?.unwrap_or(0);
    if page < 0 {
        return Err(ServiceError::invalid("page", "must be 0 or more (pages are 0-based)"));
    }
    let names = ["pagesize", "pageSize", "page_size"];
    let page_size: i64 = p.number(&names, "a whole number")?.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        let name = p.get(&names).map_or("pagesize", |(n, _)| n);
        return Err(ServiceError::invalid(name, format!("must be from 1 to {MAX_PAGE_SIZE}")));
    }
    let search = p.text(&["search"]).unwrap_or_default();
    if search.chars().count() > 255 {
        return Err(ServiceError::invalid("search", "is longer than 255 characters"));
    }
    let mut req = crate::store::PageRequest { page, page_size, search: like_pattern(&search), from: None, to: None };
    if dates {
        req.from = p.text(&["from"]).map(|v| date_bound("from", &v, false)).transpose()?;
        req.to = p.text(&["to"]).map(|v| date_bound("to", &v, true)).transpose()?;
    }
    Ok(req)
}

fn date_bound(name: &str, v: &str, end: bool) -> Result<chrono::DateTime<chrono::Utc>, ServiceError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ServiceError::invalid(name, format!("{:?} is not a date; write YYYY-MM-DD", truncate(v))))?;
    let day = if end { day.succ_opt().unwrap_or(day) } else { day };
    Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}
