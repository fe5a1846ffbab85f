//! The lean HTTP/1.1 codec: request bytes built once per target, and an incremental response
//! reader (httparse for the head; Content-Length, chunked or close-delimited bodies) that counts
//! body bytes without keeping them.

use bytes::{BufMut, Bytes, BytesMut};

use crate::plan::Target;

/// Most header lines accepted in a response.
const MAX_HEADERS: usize = 96;
/// Largest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;

/// Why a response could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The head is not valid HTTP/1.x.
    #[error("malformed response head: {0}")]
    Head(&'static str),
    /// The head is larger than [`MAX_HEAD`].
    #[error("response head larger than 64 KiB")]
    HeadTooLarge,
    /// A chunk size line is malformed.
    #[error("malformed chunked body")]
    Chunk,
    /// Content-Length is missing a number or conflicts.
    #[error("invalid Content-Length")]
    Length,
}

/// Builds the request bytes for `target` once: request line, Host, headers, Content-Length, body.
pub fn encode_request(target: &Target) -> Bytes {
    let url = &target.url;
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut out = BytesMut::with_capacity(128 + target.body.len());
    out.put_slice(target.method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(path.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    if !target.headers.iter().any(|(n, _)| n == http::header::HOST) {
        out.put_slice(b"Host: ");
        out.put_slice(host_header(url).as_bytes());
        out.put_slice(b"\r\n");
    }
    for (name, value) in &target.headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    if !target.body.is_empty() || matches!(target.method, http::Method::POST | http::Method::PUT | http::Method::PATCH)
    {
        out.put_slice(b"Content-Length: ");
        out.put_slice(target.body.len().to_string().as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out.put_slice(&target.body);
    out.freeze()
}

/// The `Host` header value for a URL: the host, with the port when it is not the default.
pub fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

/// Where a chunked-body decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

/// What [`ResponseReader::advance`] found in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed.
    NeedMore,
    /// The response is complete; the connection may be reused if `keep_alive`.
    Done {
        /// The status code.
        status: u16,
        /// Whether the server allows another request on this connection.
        keep_alive: bool,
    },
}

/// Reads one response at a time from bytes fed to it.
#[derive(Debug, Clone)]
pub struct ResponseReader {
    head_request: bool,
    status: u16,
    keep_alive: bool,
    body: Option<Body>,
}

impl ResponseReader {
    /// A reader for the response to a request; `head_request` for HEAD (no body follows).
    pub fn new(head_request: bool) -> Self {
        ResponseReader { head_request, status: 0, keep_alive: true, body: None }
    }

    /// Starts over for the next response on the same connection.
    pub fn reset(&mut self) {
        self.status = 0;
        self.keep_alive = true;
        self.body = None;
    }

    /// Whether the body runs until the connection closes (then EOF completes it).
    pub fn until_close(&self) -> bool {
        self.body == Some(Body::UntilClose)
    }

    /// The status of the response being read (0 before its head is complete).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Consumes what it can from `buf` (bytes are removed by advancing `*pos`).
    pub fn advance(&mut self, buf: &[u8], pos: &mut usize) -> Result<Progress, ParseError> {
        loop {
            match self.body {
                None => {
                    let avail = &buf[*pos..];
                    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    let mut res = httparse::Response::new(&mut headers);
                    let head_len = match res.parse(avail) {
                        Ok(httparse::Status::Complete(n)) => n,
                        Ok(httparse::Status::Partial) => {
                            return if avail.len() > MAX_HEAD {
                                Err(ParseError::HeadTooLarge)
                            } else {
                                Ok(Progress::NeedMore)
                            };
                        }
                        Err(e) => return Err(ParseError::Head(head_error(e))),
                    };
                    let status = res.code.unwrap_or(0);
                    let version = res.version.unwrap_or(1);
                    let (body, keep_alive) = framing(&res, version, status, self.head_request)?;
                    *pos += head_len;
                    if (100..200).contains(&status) && status != 101 {
                        continue; // interim response: the real one follows
                    }
                    self.status = status;
                    self.keep_alive = keep_alive;
                    match body {
                        Some(b) => self.body = Some(b),
                        None => return Ok(self.done()),
                    }
                }
                Some(Body::Length(left)) => {
                    let take = left.min((buf.len() - *pos) as u64);
                    *pos += take as usize;
                    let left = left - take;
                    self.body = Some(Body::Length(left));
                    return Ok(if left == 0 { self.done() } else { Progress::NeedMore });
                }
                Some(Body::UntilClose) => {
                    *pos = buf.len();
                    return Ok(Progress::NeedMore);
                }
                Some(Body::Chunked(state)) => {
                    return match self.chunk(state, buf, pos)? {
                        Some(next) => {
                            self.body = Some(Body::Chunked(next));
                            Ok(Progress::NeedMore)
                        }
                        None => Ok(self.done()),
                    };
                }
            }
            if *pos >= buf.len() && self.body.is_some() {
                return Ok(Progress::NeedMore);
            }
        }
    }

    fn done(&mut self) -> Progress {
        let p = Progress::Done { status: self.status, keep_alive: self.keep_alive };
        self.reset();
        p
    }

    /// Runs the chunked decoder as far as the buffer allows; `None` when the body is complete.
    fn chunk(&mut self, mut state: Chunk, buf: &[u8], pos: &mut usize) -> Result<Option<Chunk>, ParseError> {
        loop {
            let avail = &buf[*pos..];
            match state {
                Chunk::Size => {
                    let Some(eol) = find_crlf(avail) else {
                        return if avail.len() > 4096 { Err(ParseError::Chunk) } else { Ok(Some(state)) };
                    };
                    let line = &avail[..eol];
                    let hex = line.split(|b| *b == b';').next().unwrap_or_default();
                    let size = parse_hex(hex.trim_ascii()).ok_or(ParseError::Chunk)?;
                    *pos += eol + 2;
                    state = if size == 0 { Chunk::Trailer } else { Chunk::Data(size) };
                }
                Chunk::Data(left) => {
                    let take = left.min(avail.len() as u64);
                    *pos += take as usize;
                    if take < left {
                        return Ok(Some(Chunk::Data(left - take)));
                    }
                    state = Chunk::DataEnd;
                }
                Chunk::DataEnd => {
                    if avail.len() < 2 {
                        return Ok(Some(state));
                    }
                    if &avail[..2] != b"\r\n" {
                        return Err(ParseError::Chunk);
                    }
                    *pos += 2;
                    state = Chunk::Size;
                }
                Chunk::Trailer => {
                    let Some(eol) = find_crlf(avail) else {
                        return if avail.len() > MAX_HEAD { Err(ParseError::Chunk) } else { Ok(Some(state)) };
                    };
                    *pos += eol + 2;
                    if eol == 0 {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

fn head_error(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "not HTTP/1.x",
    }
}

/// The body framing and keep-alive of a parsed head (RFC 9112 §6.3).
fn framing(
    res: &httparse::Response<'_, '_>,
    version: u8,
    status: u16,
    head_request: bool,
) -> Result<(Option<Body>, bool), ParseError> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut keep_alive = version == 1;
    for h in res.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or(ParseError::Length)?;
            if length.is_some_and(|l| l != v) {
                return Err(ParseError::Length);
            }
            length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let t = token.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok((None, keep_alive));
    }
    if chunked {
        return Ok((Some(Body::Chunked(Chunk::Size)), keep_alive));
    }
    match length {
        Some(0) => Ok((None, keep_alive)),
        Some(n) => Ok((Some(Body::Length(n)), keep_alive)),
        None => Ok((Some(Body::UntilClose), false)),
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

fn parse_hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 15 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, c| Some(acc * 16 + u64::from((*c as char).to_digit(16)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(chunks: &[&[u8]], head: bool) -> Result<Vec<Progress>, ParseError> {
        let mut r = ResponseReader::new(head);
        let mut buf = Vec::new();
        let mut pos = 0;
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            loop {
                match r.advance(&buf, &mut pos)? {
                    Progress::NeedMore => break,
                    done => out.push(done),
                }
                if pos == buf.len() {
                    break;
                }
            }
        }
        Ok(out)
    }

    #[test]
    fn encodes_requests() {
        let mut t = Target::get("http://example.test:8080/a/b?x=1").unwrap();
        t.add_header_line("X-Token: abc").unwrap();
        assert_eq!(
            &encode_request(&t)[..],
            b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nx-token: abc\r\n\r\n"
        );
        t.method = http::Method::POST;
        t.body = Bytes::from_static(b"hello");
        let enc = encode_request(&t);
        assert!(enc.ends_with(b"Content-Length: 5\r\n\r\nhello"), "{enc:?}");
        let t = Target::get("https://h.test/").unwrap();
        assert!(encode_request(&t).starts_with(b"GET / HTTP/1.1\r\nHost: h.test\r\n"));
    }

    #[test]
    fn content_length_split_anywhere() {
        let whole =
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        for cut in 1..whole.len() {
            let got = read_all(&[&whole[..cut], &whole[cut..]], false).unwrap();
            assert_eq!(
                got,
                vec![
                    Progress::Done { status: 200, keep_alive: true },
                    Progress::Done { status: 404, keep_alive: true }
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn chunked_split_anywhere() {
        let whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for cut in 1..whole.len() {
            let got = read_all(&[&whole[..cut], &whole[cut..]], false).unwrap();
            assert_eq!(got, vec![Progress::Done { status: 200, keep_alive: true }], "cut at {cut}");
        }
    }

    #[test]
    fn framing_rules() {
        let got = read_all(&[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"], false).unwrap();
        assert_eq!(got, vec![Progress::Done { status: 204, keep_alive: true }]);
        let got = read_all(&[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"], true).unwrap();
        assert_eq!(got, vec![Progress::Done { status: 200, keep_alive: true }]);
        let got = read_all(&[b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"], false).unwrap();
        assert_eq!(got, vec![Progress::Done { status: 200, keep_alive: false }]);
        let got = read_all(&[b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"], false).unwrap();
        assert_eq!(got, vec![Progress::Done { status: 200, keep_alive: false }]);
        let mut r = ResponseReader::new(false);
        let mut pos = 0;
        let buf = b"HTTP/1.1 200 OK\r\n\r\nstream until close";
        assert_eq!(r.advance(buf, &mut pos).unwrap(), Progress::NeedMore);
        assert!(r.until_close());
        assert_eq!(r.status(), 200);
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(read_all(&[b"NOT HTTP\r\n\r\n"], false).is_err());
        assert!(read_all(&[b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"], false).is_err());
        assert!(read_all(&[b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"], false).is_err());
        assert!(read_all(&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], false).is_err());
        assert!(read_all(&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"], false).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut r = ResponseReader::new(false);
            let mut pos = 0;
            let _ = r.advance(&data, &mut pos);
            proptest::prop_assert!(pos <= data.len());
        }
    }
}
