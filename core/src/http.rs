//! HTTP/1.1 response framing, incremental, in the caller's buffer.
//!
//! A [`ResponseReader`] takes whatever bytes arrived, in pieces of any size, and answers
//! [`Status::Partial`] ("need more") until the whole response is in, then
//! [`Status::Complete`]. The head is parsed by [`httparse`]; the body may be delimited by
//! `Content-Length`, by `Transfer-Encoding: chunked` (extensions and trailers accepted and
//! ignored) or by the end of the connection (the caller reports it with
//! [`ResponseReader::handle_eof`]). `1xx` interim responses are skipped.
//!
//! Refused with a typed [`HttpError`]: malformed heads, more than [`MAX_HEADERS`] fields, a
//! head over [`Limits::max_head`] or a body over [`Limits::max_body`] (or over what the
//! buffer holds), a `3xx` redirect, `101`, transfer or content codings other than
//! `chunked`/`identity`, and an end of stream before the response is complete.
//!
//! **Panics:** never. Every index is checked; a `handle_read(n)` with `n` larger than the
//! slice [`ResponseReader::read_buf`] gave is clamped to it.
//!
//! Memory: the response lives in the caller's buffer; a chunked body is decoded in place, so
//! the buffer needs room for the head, the decoded body and one read's worth of framing.
//!
//! ```
//! use lwa_core::http::{Limits, ResponseReader, Status};
//!
//! let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
//! let mut buf = [0u8; 256];
//! let mut reader = ResponseReader::new(&mut buf, Limits::default());
//! let mut status = Status::Partial;
//! for &byte in wire {
//!     let space = reader.read_buf().unwrap();
//!     space[0] = byte;
//!     status = reader.handle_read(1).unwrap();
//! }
//! assert_eq!(status, Status::Complete);
//! let response = reader.into_response().unwrap();
//! assert_eq!((response.status, &*response.body), (200, &b"{}"[..]));
//! ```

use core::mem::MaybeUninit;

use crate::error::{HeadSyntax, HttpError};

pub use crate::limits::MAX_HEADERS;

/// Default [`Limits::max_head`]: far above LWA's heads of about 350 bytes.
pub const DEFAULT_MAX_HEAD: usize = 4096;

/// Default [`Limits::max_body`]: two 2048-byte tokens with their JSON fit with room to spare.
pub const DEFAULT_MAX_BODY: usize = 8192;

/// Longest chunk-size line accepted, extensions and line end included. Only this many bytes
/// of a line are ever looked at, so a longer line is `InvalidChunk` however it arrives.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Size limits. The buffer is a limit too: the smaller of the two applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Most bytes of response head, counting any 1xx heads before it.
    pub max_head: usize,
    /// Most bytes of (decoded) body.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: DEFAULT_MAX_HEAD,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Whether the response is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub enum Status {
    /// More bytes are needed.
    Partial,
    /// The response is complete; take it with [`ResponseReader::into_response`].
    Complete,
}

/// A complete response, borrowing the caller's buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Response<'buf> {
    /// The final status code (never 1xx or 3xx).
    pub status: u16,
    /// `Retry-After` in seconds, when sent in the delta-seconds form (the HTTP-date form is
    /// ignored: there is no clock here to compare it with).
    pub retry_after: Option<u32>,
    /// The decoded body (chunked framing removed). Mutable so that JSON strings can be
    /// unescaped in place.
    pub body: &'buf mut [u8],
}

/// What the head says about the response, copied out of the header borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    status: u16,
    retry_after: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Waiting for a chunk-size line, of which this many bytes have arrived and hold no line
    /// feed (so each byte of the line is looked at once, however the line arrives).
    Size(usize),
    /// Inside chunk data, this many bytes still to come.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer fields up to an empty line.
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length`: the body is exactly this long.
    Length(usize),
    /// `Transfer-Encoding: chunked`; decoded body bytes so far, and where the parser is.
    Chunked { decoded: usize, chunk: Chunk },
    /// No length: the body ends with the connection.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a head that starts at `start` (after any 1xx heads).
    Head { start: usize },
    Body {
        head: Head,
        start: usize,
        framing: Framing,
    },
    Done {
        head: Head,
        start: usize,
        len: usize,
    },
}

/// Reads one HTTP/1.1 response into a caller's buffer. See the [module docs](self).
#[derive(Debug)]
pub struct ResponseReader<'buf> {
    buf: &'buf mut [u8],
    limits: Limits,
    /// Bytes of `buf` holding received data.
    filled: usize,
    state: State,
}

impl<'buf> ResponseReader<'buf> {
    /// A reader that will place the response in `buf`.
    ///
    /// ```
    /// let mut buf = [0u8; 64];
    /// let reader = lwa_core::http::ResponseReader::new(&mut buf, Default::default());
    /// assert!(!reader.is_complete());
    /// ```
    #[must_use]
    pub fn new(buf: &'buf mut [u8], limits: Limits) -> Self {
        Self {
            buf,
            limits,
            filled: 0,
            state: State::Head { start: 0 },
        }
    }

    /// Whether the whole response has been read.
    ///
    /// ```
    /// let mut buf = [0u8; 64];
    /// let reader = lwa_core::http::ResponseReader::new(&mut buf, Default::default());
    /// assert!(!reader.is_complete());
    /// ```
    #[must_use]
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done { .. })
    }

    /// Where to put the next bytes read. Never empty: when the buffer is full and the
    /// response incomplete, this is the error that says which limit was hit.
    ///
    /// # Errors
    /// [`HttpError::HeadTooLarge`], [`HttpError::BodyTooLarge`] or
    /// [`HttpError::FramingTooLarge`] (whichever part did not fit) when no space is left.
    ///
    /// ```
    /// let mut buf = [0u8; 64];
    /// let mut reader = lwa_core::http::ResponseReader::new(&mut buf, Default::default());
    /// assert_eq!(reader.read_buf().unwrap().len(), 64);
    /// ```
    pub fn read_buf(&mut self) -> Result<&mut [u8], HttpError> {
        if self.filled >= self.buf.len() {
            return Err(self.full_error());
        }
        Ok(self.buf.get_mut(self.filled..).unwrap_or_default())
    }

    fn full_error(&self) -> HttpError {
        match self.state {
            State::Head { .. } => HttpError::HeadTooLarge {
                limit: self.limits.max_head.min(self.buf.len()),
            },
            // Framing is not body: say which one did not fit.
            State::Body {
                start,
                framing:
                    Framing::Chunked {
                        decoded,
                        chunk: Chunk::Size(_) | Chunk::DataEnd | Chunk::Trailers,
                    },
                ..
            } => HttpError::FramingTooLarge {
                room: self.buf.len().saturating_sub(start.saturating_add(decoded)),
            },
            State::Body { start, .. } | State::Done { start, .. } => HttpError::BodyTooLarge {
                limit: self
                    .limits
                    .max_body
                    .min(self.buf.len().saturating_sub(start)),
            },
        }
    }

    /// Takes `n` bytes just written into [`read_buf`](Self::read_buf). `n == 0` is not end
    /// of stream: call [`handle_eof`](Self::handle_eof) for that.
    ///
    /// # Errors
    /// Any [`HttpError`] the bytes so far prove; after an error the reader is spent.
    ///
    /// ```
    /// use lwa_core::http::{ResponseReader, Status};
    /// let mut buf = [0u8; 128];
    /// let mut reader = ResponseReader::new(&mut buf, Default::default());
    /// let wire = b"HTTP/1.1 204 No Content\r\n\r\n";
    /// reader.read_buf().unwrap()[..wire.len()].copy_from_slice(wire);
    /// assert_eq!(reader.handle_read(wire.len()).unwrap(), Status::Complete);
    /// ```
    pub fn handle_read(&mut self, n: usize) -> Result<Status, HttpError> {
        let before = self.filled;
        self.filled = self.filled.saturating_add(n).min(self.buf.len());
        if let State::Head { start } = self.state {
            let full = self.filled >= self.limits.max_head.min(self.buf.len());
            // The head is parsed when a line has ended (only then can it be complete), when
            // it has reached its limit, and at the end of the stream: once per line however
            // the bytes arrive, not once per read. A bad byte is found by the parse after it
            // (httparse stops at the first one), so the verdict is the same for every split
            // (a property test and a fuzz target check that).
            let new = self.buf.get(before..self.filled).unwrap_or_default();
            // A plain loop: `contains` links a word-at-a-time memchr, 144 bytes on a
            // Cortex-M4, for lines of a few dozen bytes.
            #[allow(clippy::manual_contains)]
            let line_ended = new.iter().any(|&b| b == b'\n');
            if full || line_ended {
                self.parse_heads(start)?;
            }
            if let State::Head { .. } = self.state {
                if full {
                    return Err(self.full_error());
                }
                return Ok(Status::Partial);
            }
        }
        self.advance_body()
    }

    /// Reports the end of the stream.
    ///
    /// # Errors
    /// [`HttpError::Truncated`] unless the response was complete or is delimited by the end of
    /// the connection.
    ///
    /// ```
    /// use lwa_core::http::{ResponseReader, Status};
    /// use lwa_core::error::HttpError;
    /// let mut buf = [0u8; 128];
    /// let mut reader = ResponseReader::new(&mut buf, Default::default());
    /// let wire = b"HTTP/1.0 200 OK\r\n\r\n{}";
    /// reader.read_buf().unwrap()[..wire.len()].copy_from_slice(wire);
    /// assert_eq!(reader.handle_read(wire.len()).unwrap(), Status::Partial);
    /// assert_eq!(reader.handle_eof().unwrap(), Status::Complete);
    /// assert_eq!(&*reader.into_response().unwrap().body, b"{}");
    /// ```
    pub fn handle_eof(&mut self) -> Result<Status, HttpError> {
        if let State::Head { start } = self.state {
            // A bad byte in a last line without its end is still named.
            self.parse_heads(start)?;
        }
        match self.state {
            State::Done { .. } => Ok(Status::Complete),
            State::Body {
                head,
                start,
                framing: Framing::Close,
            } => {
                self.state = State::Done {
                    head,
                    start,
                    len: self.filled.saturating_sub(start),
                };
                Ok(Status::Complete)
            }
            _ => Err(HttpError::Truncated),
        }
    }

    /// The complete response, or `None` if it is not complete yet.
    ///
    /// ```
    /// let mut buf = [0u8; 8];
    /// let reader = lwa_core::http::ResponseReader::new(&mut buf, Default::default());
    /// assert!(reader.into_response().is_none());
    /// ```
    #[must_use]
    pub fn into_response(self) -> Option<Response<'buf>> {
        let State::Done { head, start, len } = self.state else {
            return None;
        };
        let body = self.buf.get_mut(start..start.saturating_add(len))?;
        Some(Response {
            status: head.status,
            retry_after: head.retry_after,
            body,
        })
    }

    /// Parses heads from `start`, skipping 1xx ones, until a final head is found or more
    /// bytes are needed.
    fn parse_heads(&mut self, mut start: usize) -> Result<(), HttpError> {
        // Bytes past the head limit are never looked at, so a head that is too large is
        // always `HeadTooLarge`, whatever it holds further on and however it was split.
        let end = self.filled.min(self.limits.max_head);
        loop {
            let data = self.buf.get(start..end).unwrap_or_default();
            // Uninitialized slots: httparse fills those it uses, and zeroing all of them
            // first was a measurable part of a refresh on a host.
            let mut headers =
                [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut []);
            // RFC 9112 5.2: a client must unfold obsolete line folding. httparse keeps the
            // fold in the value; the field readers treat its CR LF as whitespace.
            let mut config = httparse::ParserConfig::default();
            config.allow_obsolete_multiline_headers_in_responses(true);
            let len = match config.parse_response_with_uninit_headers(
                &mut response,
                data,
                &mut headers,
            ) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => {
                    self.state = State::Head { start };
                    return Ok(());
                }
                Err(e) => return Err(HeadSyntax::from_httparse(e)),
            };
            let status = response.code.unwrap_or(0);
            let body_start = start + len;
            match status {
                101 => return Err(HttpError::UnexpectedStatus { status }),
                100..=199 => {
                    start = body_start;
                    continue;
                }
                300..=399 => return Err(HttpError::Redirect { status }),
                _ => {}
            }
            let (head, framing) = read_fields(status, response.headers, self.limits)?;
            self.state = State::Body {
                head,
                start: body_start,
                framing,
            };
            return Ok(());
        }
    }

    fn advance_body(&mut self) -> Result<Status, HttpError> {
        let State::Body {
            head,
            start,
            framing,
        } = self.state
        else {
            return Ok(if self.is_complete() {
                Status::Complete
            } else {
                Status::Partial
            });
        };
        let body_room = self.buf.len().saturating_sub(start);
        match framing {
            Framing::Length(len) => {
                if len > body_room {
                    return Err(HttpError::BodyTooLarge {
                        limit: self.limits.max_body.min(body_room),
                    });
                }
                if self.filled.saturating_sub(start) >= len {
                    // Bytes past the length (there should be none: we sent
                    // `Connection: close`) are ignored.
                    self.state = State::Done { head, start, len };
                    return Ok(Status::Complete);
                }
            }
            Framing::Close => {
                if self.filled.saturating_sub(start) > self.limits.max_body {
                    return Err(HttpError::BodyTooLarge {
                        limit: self.limits.max_body.min(body_room),
                    });
                }
            }
            Framing::Chunked { decoded, chunk } => {
                return self.decode_chunks(head, start, decoded, chunk);
            }
        }
        Ok(Status::Partial)
    }

    /// Decodes the chunked framing received so far, moving chunk data down to the end of the
    /// decoded body, then moves any incomplete framing bytes after it.
    fn decode_chunks(
        &mut self,
        head: Head,
        start: usize,
        mut decoded: usize,
        mut chunk: Chunk,
    ) -> Result<Status, HttpError> {
        let mut read = start + decoded;
        // On entry the undecoded bytes sit right after the decoded body.
        loop {
            let raw = self.buf.get(read..self.filled).unwrap_or_default();
            // Framing lines and trailers are parsed within their limits only, as heads are:
            // what lies past a limit must not decide the outcome, or the same bytes could end
            // differently depending on how they were split (found by fuzzing: a whole answer
            // was accepted with a 1.8 KB chunk line that a split one refused).
            match chunk {
                Chunk::Size(scanned) => {
                    let line = limit(raw, MAX_CHUNK_LINE);
                    let fresh = line.get(scanned..).unwrap_or_default();
                    let found = fresh.iter().position(|&b| b == b'\n');
                    let Some(lf) = found.map(|p| scanned + p) else {
                        if line.len() >= MAX_CHUNK_LINE {
                            return Err(HttpError::InvalidChunk);
                        }
                        // No line end yet: parse nothing, remember how far the line is known.
                        chunk = Chunk::Size(line.len());
                        break;
                    };
                    // The whole line is here: parsed once. Only CRLF ends it (RFC 9112).
                    let line = line.get(..=lf).unwrap_or_default();
                    match httparse::parse_chunk_size(line) {
                        Ok(httparse::Status::Complete((used, size)))
                            if used == line.len() && strict_chunk_line(line) =>
                        {
                            read += used;
                            if size == 0 {
                                chunk = Chunk::Trailers;
                            } else {
                                let total = (decoded as u64).saturating_add(size);
                                let room = self.buf.len().saturating_sub(start);
                                if total > self.limits.max_body.min(room) as u64 {
                                    return Err(HttpError::BodyTooLarge {
                                        limit: self.limits.max_body.min(room),
                                    });
                                }
                                chunk = Chunk::Data(size);
                            }
                        }
                        _ => return Err(HttpError::InvalidChunk),
                    }
                }
                Chunk::Data(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(raw.len());
                    if take == 0 {
                        break;
                    }
                    let to = start + decoded;
                    crate::bytes::move_down(self.buf, read, to, take);
                    decoded += take;
                    read += take;
                    let left = left - take as u64;
                    chunk = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                }
                Chunk::DataEnd => match raw {
                    [b'\r', b'\n', ..] => {
                        read += 2;
                        chunk = Chunk::Size(0);
                    }
                    [] | [b'\r'] => break,
                    _ => return Err(HttpError::InvalidChunk),
                },
                Chunk::Trailers => {
                    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    match httparse::parse_headers(limit(raw, self.limits.max_head), &mut fields) {
                        Ok(httparse::Status::Complete(_)) => {
                            self.state = State::Done {
                                head,
                                start,
                                len: decoded,
                            };
                            return Ok(Status::Complete);
                        }
                        Ok(httparse::Status::Partial) if raw.len() >= self.limits.max_head => {
                            return Err(HttpError::HeadTooLarge {
                                limit: self.limits.max_head,
                            });
                        }
                        Ok(httparse::Status::Partial) => break,
                        Err(_) if obs_fold(limit(raw, self.limits.max_head)) => {
                            return Err(HttpError::InvalidHead(HeadSyntax::ObsFold));
                        }
                        Err(e) => return Err(HeadSyntax::from_httparse(e)),
                    }
                }
            }
        }
        // Keep the incomplete framing bytes right after the decoded body, freeing the rest.
        let end = start + decoded;
        if read > end {
            crate::bytes::move_down(self.buf, read, end, self.filled - read);
            self.filled = end + (self.filled - read);
        }
        self.state = State::Body {
            head,
            start,
            framing: Framing::Chunked { decoded, chunk },
        };
        Ok(Status::Partial)
    }
}

/// Reads the fields that matter: framing, codings, retry hint. `Content-Type` is not
/// consulted: the body decides whether it is the expected JSON.
fn read_fields(
    status: u16,
    fields: &[httparse::Header<'_>],
    limits: Limits,
) -> Result<(Head, Framing), HttpError> {
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut retry_after = None;
    for field in fields {
        // Items are trimmed one by one; only `Retry-After` needs the whole value trimmed.
        let value = field.value;
        let name = field.name;
        if name.eq_ignore_ascii_case("content-length") {
            for_each_item(value, &mut |item| {
                let n = parse_length(item).ok_or(HttpError::InvalidContentLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(HttpError::InvalidContentLength);
                }
                length = Some(n);
                Ok(())
            })?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            for_each_item(value, &mut |coding| {
                if coding.eq_ignore_ascii_case(b"chunked") && !chunked {
                    chunked = true;
                    Ok(())
                } else if coding.is_empty() {
                    Ok(())
                } else {
                    // gzip, deflate, a second `chunked`: nothing this client can decode.
                    Err(HttpError::UnsupportedTransferEncoding)
                }
            })?;
        } else if name.eq_ignore_ascii_case("content-encoding") {
            for_each_item(value, &mut |coding| {
                if coding.is_empty() || coding.eq_ignore_ascii_case(b"identity") {
                    Ok(())
                } else {
                    Err(HttpError::UnsupportedContentEncoding)
                }
            })?;
        } else if name.eq_ignore_ascii_case("retry-after") {
            retry_after = parse_delta_seconds(trim(value));
        }
    }
    let head = Head {
        status,
        retry_after,
    };
    let framing = if matches!(status, 204 | 304) {
        Framing::Length(0)
    } else if chunked {
        // Transfer-Encoding overrides Content-Length (RFC 9112, 6.3).
        Framing::Chunked {
            decoded: 0,
            chunk: Chunk::Size(0),
        }
    } else if let Some(len) = length {
        if len > limits.max_body {
            return Err(HttpError::BodyTooLarge {
                limit: limits.max_body,
            });
        }
        Framing::Length(len)
    } else {
        Framing::Close
    };
    Ok((head, framing))
}

/// Calls `f` with each comma-separated item of a field value, trimmed. Not generic, so one
/// copy serves every field on a device.
fn for_each_item(
    value: &[u8],
    f: &mut dyn FnMut(&[u8]) -> Result<(), HttpError>,
) -> Result<(), HttpError> {
    for item in value.split(|&b| b == b',') {
        f(trim(item))?;
    }
    Ok(())
}

/// The first `max` bytes of `raw` (all of it if shorter).
fn limit(raw: &[u8], max: usize) -> &[u8] {
    raw.get(..max).unwrap_or(raw)
}

/// `v` without surrounding whitespace; the CR LF of an obsolete line fold counts as
/// whitespace (httparse keeps folds in values, and only they put CR or LF there).
fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r' | b'\n'] = v {
        v = rest;
    }
    v
}

/// Whether trailers that httparse refused break at an obsolete line fold: the first line
/// that starts with a space or tab follows fields httparse accepts. Out of line: its field
/// slots (384 bytes on a Cortex-M) belong on the stack of the error path only.
#[cold]
#[inline(never)]
fn obs_fold(trailers: &[u8]) -> bool {
    let Some(fold) = trailers
        .windows(2)
        .position(|w| matches!(w, [b'\n', b' ' | b'\t']))
        .map(|lf| lf + 1)
    else {
        return false;
    };
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    matches!(
        httparse::parse_headers(trailers.get(..fold).unwrap_or_default(), &mut fields),
        Ok(httparse::Status::Partial)
    )
}

fn parse_length(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(v).ok()?.parse().ok()
}

/// `Retry-After: 120` (delta-seconds). Very large values saturate at `u32::MAX`.
fn parse_delta_seconds(v: &[u8]) -> Option<u32> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u32, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

/// RFC 9112 7.1 where httparse is lenient: a chunk-size line starts with at least one hex
/// digit (httparse reads `\r\n` or `;ext\r\n` as size 0, which would end a body early)
/// and its only line feed is the one of its closing CRLF (httparse lets bare line feeds
/// through inside an extension).
fn strict_chunk_line(line: &[u8]) -> bool {
    let Some(content) = line.strip_suffix(b"\r\n") else {
        return false;
    };
    line.first().is_some_and(u8::is_ascii_hexdigit) && !content.contains(&b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Feeds `wire` in pieces of `step` bytes, then EOF if `eof`.
    fn feed(
        wire: &[u8],
        cap: usize,
        limits: Limits,
        step: usize,
        eof: bool,
    ) -> Result<(u16, Option<u32>, Vec<u8>), HttpError> {
        let mut buf = std::vec![0u8; cap];
        let mut r = ResponseReader::new(&mut buf, limits);
        let mut rest = wire;
        let mut status = Status::Partial;
        while !rest.is_empty() && status == Status::Partial {
            let space = r.read_buf()?;
            let n = step.min(space.len()).min(rest.len());
            space[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            status = r.handle_read(n)?;
        }
        if status == Status::Partial && eof {
            status = r.handle_eof()?;
        }
        assert_eq!(status, Status::Complete);
        let resp = r.into_response().unwrap();
        Ok((resp.status, resp.retry_after, resp.body.to_vec()))
    }

    fn all_splits(wire: &[u8], eof: bool) -> Result<(u16, Option<u32>, Vec<u8>), HttpError> {
        let first = feed(wire, 4096, Limits::default(), wire.len(), eof);
        for step in 1..wire.len() {
            assert_eq!(
                feed(wire, 4096, Limits::default(), step, eof),
                first,
                "step {step}"
            );
        }
        first
    }

    macro_rules! cases {
        ($($name:ident: $wire:expr, eof $eof:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(all_splits($wire, $eof), $want);
            }
        )*};
    }

    fn ok(
        status: u16,
        retry: Option<u32>,
        body: &[u8],
    ) -> Result<(u16, Option<u32>, Vec<u8>), HttpError> {
        Ok((status, retry, body.to_vec()))
    }

    cases! {
        content_length: b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: 2\r\n\r\n{}", eof false
            => ok(200, None, b"{}");
        content_length_ignores_excess: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage", eof false
            => ok(200, None, b"{}");
        header_names_any_case: b"HTTP/1.1 400 Bad\r\ncOnTeNt-LeNgTh: 2\r\nCONTENT-TYPE: Application/JSON\r\n\r\n{}", eof false
            => ok(400, None, b"{}");
        chunked_with_extensions_and_trailers: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;name=\"v\"\r\n{\"a\r\nA ; x\r\n\":1234567}\r\n0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", eof false
            => ok(200, None, b"{\"a\":1234567}");
        chunked_beats_content_length: b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", eof false
            => ok(200, None, b"{}");
        close_delimited: b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\n\r\n<html>down</html>", eof true
            => ok(503, Some(120), b"<html>down</html>");
        interim_responses_skipped: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", eof false
            => ok(200, None, b"x");
        no_content: b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", eof false
            => ok(204, None, b"");
        retry_after_date_ignored: b"HTTP/1.1 429 Too Many\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\nContent-Length: 0\r\n\r\n", eof false
            => ok(429, None, b"");
        retry_after_saturates: b"HTTP/1.1 429 Too Many\r\nRetry-After: 99999999999\r\nContent-Length: 0\r\n\r\n", eof false
            => ok(429, Some(u32::MAX), b"");
        plus_json: b"HTTP/1.1 400 X\r\nContent-Type: application/problem+json\r\nContent-Length: 0\r\n\r\n", eof false
            => ok(400, None, b"");
        same_length_twice: b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\nContent-Length: 1\r\n\r\nx", eof false
            => ok(200, None, b"x");
    }

    fn err(wire: &[u8], cap: usize, eof: bool) -> HttpError {
        feed(wire, cap, Limits::default(), wire.len(), eof).unwrap_err()
    }

    #[test]
    fn errors() {
        let cases: &[(&[u8], usize, bool, HttpError)] = &[
            (
                b"HTTP/1.1 302 Found\r\nLocation: http://evil\r\n\r\n",
                256,
                false,
                HttpError::Redirect { status: 302 },
            ),
            (
                b"HTTP/1.1 101 Switching\r\n\r\n",
                256,
                false,
                HttpError::UnexpectedStatus { status: 101 },
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                256,
                true,
                HttpError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                256,
                true,
                HttpError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-",
                256,
                true,
                HttpError::Truncated,
            ),
            (b"", 256, true, HttpError::Truncated),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                256,
                false,
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                256,
                false,
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                256,
                false,
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n",
                256,
                false,
                HttpError::BodyTooLarge { limit: 8192 },
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n",
                256,
                false,
                HttpError::BodyTooLarge { limit: 216 },
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                256,
                false,
                HttpError::UnsupportedTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                256,
                false,
                HttpError::UnsupportedTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n",
                256,
                false,
                HttpError::UnsupportedContentEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                256,
                false,
                HttpError::InvalidChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxyz",
                256,
                false,
                HttpError::InvalidChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
                256,
                false,
                HttpError::BodyTooLarge { limit: 209 },
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
                256,
                false,
                HttpError::InvalidChunk,
            ),
            (
                b"HTTP/1.1 2000 OK\r\n\r\n",
                256,
                false,
                HttpError::InvalidHead(HeadSyntax::Status),
            ),
            (
                b"HTTP/2 200 OK\r\n\r\n",
                256,
                false,
                HttpError::InvalidHead(HeadSyntax::Version),
            ),
            (
                b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                256,
                false,
                HttpError::InvalidHead(HeadSyntax::HeaderName),
            ),
            (
                b"<html>hello</html>\n\n",
                256,
                false,
                HttpError::InvalidHead(HeadSyntax::Version),
            ),
        ];
        for (wire, cap, eof, want) in cases {
            assert_eq!(
                &err(wire, *cap, *eof),
                want,
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    use std::string::String;

    /// Found by fuzzing: a head error used to surface only when a line feed arrived in the
    /// same read, so splitting the bytes turned `InvalidHead` into `Truncated`.
    #[test]
    fn head_errors_do_not_depend_on_split_points() {
        let wire = b"\n\0\0\0\0\0\0\0\xff";
        let whole = feed(wire, 256, Limits::default(), wire.len(), true);
        assert_eq!(whole, Err(HttpError::InvalidHead(HeadSyntax::Version)));
        for step in 1..wire.len() {
            assert_eq!(
                feed(wire, 256, Limits::default(), step, true),
                whole,
                "step {step}"
            );
        }
    }

    /// Found by fuzzing: a bad byte past the head limit was reported as `InvalidHead` when
    /// the bytes came in one piece, `HeadTooLarge` when they came in several.
    #[test]
    fn a_head_over_the_limit_is_too_large_however_it_arrives() {
        let mut wire = Vec::from(&b"HTTP/1.1 200 OK\r\nX: "[..]);
        wire.resize(4200, b'a');
        wire.extend_from_slice(b"\x01\r\n\r\n");
        for step in [wire.len(), 1000, 7] {
            assert_eq!(
                feed(&wire, 6144, Limits::default(), step, true),
                Err(HttpError::HeadTooLarge { limit: 4096 }),
                "step {step}"
            );
        }
    }

    /// Found by fuzzing: a chunk extension holding bare line feeds, its CRLF 1.8 KB on, was
    /// accepted when the answer came in one piece and refused when it came in several. The
    /// limit is now exact (line end included) and the same for any split.
    #[test]
    fn chunk_line_limit_holds_however_the_line_arrives() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        // "2;" + extension + CRLF: the line is `ext + 4` bytes.
        for ext in [MAX_CHUNK_LINE - 5, MAX_CHUNK_LINE - 4, MAX_CHUNK_LINE - 3] {
            let mut wire = Vec::from(&head[..]);
            wire.extend_from_slice(b"2;");
            wire.resize(wire.len() + ext, b'e');
            wire.extend_from_slice(b"\r\n{}\r\n0\r\n\r\n");
            let want = if ext + 4 <= MAX_CHUNK_LINE {
                ok(200, None, b"{}")
            } else {
                Err(HttpError::InvalidChunk)
            };
            assert_eq!(all_splits(&wire, false), want, "extension of {ext} bytes");
        }
        let mut wire = Vec::from(&head[..]);
        wire.extend_from_slice(b"0;");
        for _ in 0..200 {
            wire.extend_from_slice(b"extension\n");
        }
        wire.extend_from_slice(b"\r\n\r\n");
        assert_eq!(all_splits(&wire, false), Err(HttpError::InvalidChunk));
    }

    /// RFC 9112 requires a hex digit and CRLF; httparse read a line without a digit as
    /// size 0 (a body cut short passed as complete) and let bare line feeds into extensions.
    #[test]
    fn chunk_size_lines_need_a_digit_and_crlf() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for bad in [
            &b"2\r\n{}\r\n\r\n\r\n"[..],
            b"2\r\n{}\r\n;ext\r\n\r\n",
            b"2;a\nb\r\n{}\r\n0\r\n\r\n",
            b" 2\r\n{}\r\n0\r\n\r\n",
        ] {
            let wire = [&head[..], bad].concat();
            assert_eq!(
                all_splits(&wire, false),
                Err(HttpError::InvalidChunk),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let good = [&head[..], b"2;a=b\r\n{}\r\n0\r\n\r\n"].concat();
        assert_eq!(all_splits(&good, false), ok(200, None, b"{}"));
        assert!(strict_chunk_line(b"0\r\n"));
        assert!(!strict_chunk_line(b"0\n"));
        assert!(!strict_chunk_line(b""));
    }

    /// Feeds `wire` to `r` through `read_buf` in reads of at most `step` bytes until the
    /// response is complete.
    fn read_whole(r: &mut ResponseReader<'_>, mut wire: &[u8], step: usize) {
        let mut status = Status::Partial;
        while status == Status::Partial {
            let space = r.read_buf().unwrap();
            let n = step.min(space.len()).min(wire.len());
            space[..n].copy_from_slice(&wire[..n]);
            wire = &wire[n..];
            status = r.handle_read(n).unwrap();
        }
    }

    /// Chunk-size lines read the same however they arrive. That the work does not grow with
    /// the number of reads (each byte looked at once while the line is incomplete, the line
    /// parsed once; it was parsed again from its start on every read: 1.95 MB of one-byte
    /// chunks with long extensions took 40 times longer fed byte by byte than whole) is
    /// measured in instructions per byte by tests/firmware's footprint.py, which fails CI
    /// past its bound.
    #[test]
    fn chunk_lines_cost_the_same_however_they_arrive() {
        let mut wire = Vec::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
        for _ in 0..50 {
            let line = [&b"1;"[..], &[b'e'; 1000], b"\r\n"].concat();
            wire.extend_from_slice(&line);
            wire.extend_from_slice(b"x\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        for step in [wire.len(), 7, 1] {
            let mut buf = std::vec![0u8; 4096];
            let mut r = ResponseReader::new(&mut buf, Limits::default());
            read_whole(&mut r, &wire[..], step);
            assert_eq!(r.into_response().unwrap().body, &[b'x'; 50][..]);
        }
    }

    /// The head reads the same however it arrives, and a bad byte is still named, also in a
    /// last line that never ends. That it is parsed once per line, not once per read (read
    /// one byte at a time, a 10-line head was parsed 300 times: 700k instructions for a code
    /// pair on a Cortex-M4), is measured by tests/firmware's footprint.py in instructions
    /// per byte, which fails CI past its bound.
    #[test]
    fn the_head_is_parsed_once_per_line() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: x\r\nContent-Length: 2\r\n\r\n{}";
        for step in [wire.len(), 7, 1] {
            let mut buf = std::vec![0u8; 512];
            let mut r = ResponseReader::new(&mut buf, Limits::default());
            read_whole(&mut r, &wire[..], step);
            assert_eq!(r.into_response().unwrap().body, b"{}");
        }
        for (wire, want) in [
            (&b"HTTP/1.1 2x0 OK"[..], HeadSyntax::Status),
            (b"HTTP/1.1 200 OK\r\nBad Name: x", HeadSyntax::HeaderName),
        ] {
            for step in [wire.len(), 1] {
                let mut buf = std::vec![0u8; 512];
                let mut r = ResponseReader::new(&mut buf, Limits::default());
                let mut got = None;
                for piece in wire.chunks(step) {
                    r.read_buf().unwrap()[..piece.len()].copy_from_slice(piece);
                    if let Err(e) = r.handle_read(piece.len()) {
                        got = Some(e);
                        break;
                    }
                }
                let got = got.or_else(|| r.handle_eof().err());
                assert_eq!(got, Some(HttpError::InvalidHead(want)), "step {step}");
            }
        }
    }

    /// RFC 9112 5.2: a client unfolds obsolete line folding in the head; folded trailers,
    /// which lwa does not read, are refused with an error that names the fold.
    #[test]
    fn obsolete_line_folding() {
        let folded_head =
            b"HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 2,\r\n\t2\r\n\r\n{}";
        assert_eq!(all_splits(folded_head, false), ok(200, None, b"{}"));
        let folded_trailer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX: a\r\n b\r\n\r\n";
        assert_eq!(
            all_splits(folded_trailer, false),
            Err(HttpError::InvalidHead(HeadSyntax::ObsFold))
        );
        // A bad name before the fold is still a bad name.
        let bad_name =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nB d: a\r\n b\r\n\r\n";
        assert_eq!(
            all_splits(bad_name, false),
            Err(HttpError::InvalidHead(HeadSyntax::HeaderName))
        );
        assert_eq!(
            std::string::ToString::to_string(&HttpError::InvalidHead(HeadSyntax::ObsFold)),
            "malformed response head: obsolete line folding in a trailer field"
        );
    }

    /// Trailers are held to the head limit the same way: only that many bytes are parsed.
    #[test]
    fn trailer_limit_holds_however_the_trailers_arrive() {
        let limits = Limits {
            max_head: 64,
            ..Limits::default()
        };
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n";
        // "X: " + value + CRLF + CRLF: `value + 7` bytes of trailers.
        for (value, bad_byte) in [
            (57, false),
            (58, false),
            (40, true),
            (58, true),
            (200, true),
        ] {
            let mut wire = Vec::from(&head[..]);
            wire.extend_from_slice(b"X: ");
            wire.resize(wire.len() + value, b'v');
            if bad_byte {
                // A byte httparse refuses, past the limit when the trailers are too long.
                wire.push(b'\x01');
            }
            wire.extend_from_slice(b"\r\n\r\n");
            let len = value + 7 + usize::from(bad_byte);
            // The bad byte sits at `3 + value`: inside the limit it is a syntax error.
            let want = if bad_byte && 3 + value < 64 {
                Err(HttpError::InvalidHead(HeadSyntax::HeaderValue))
            } else if len <= 64 {
                Ok((200, None, b"{}".to_vec()))
            } else {
                Err(HttpError::HeadTooLarge { limit: 64 })
            };
            for step in 1..=wire.len() {
                assert_eq!(
                    feed(&wire, 4096, limits, step, false),
                    want,
                    "{value} {step}"
                );
            }
        }
    }

    #[test]
    fn too_many_headers() {
        let mut wire = Vec::from(&b"HTTP/1.1 200 OK\r\n"[..]);
        for i in 0..=MAX_HEADERS {
            wire.extend_from_slice(std::format!("X-{i}: v\r\n").as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        assert_eq!(err(&wire, 4096, false), HttpError::TooManyHeaders);
    }

    #[test]
    fn head_too_large() {
        let mut wire = Vec::from(&b"HTTP/1.1 200 OK\r\nX: "[..]);
        wire.resize(5000, b'a');
        assert_eq!(
            err(&wire, 8192, false),
            HttpError::HeadTooLarge { limit: 4096 }
        );
        assert_eq!(
            err(&wire, 100, false),
            HttpError::HeadTooLarge { limit: 100 }
        );
    }

    /// A last-chunk line that does not fit after the body is named as framing, not as a body
    /// that is too large; so are trailers. Data that does not fit is still the body's.
    #[test]
    fn framing_that_does_not_fit_is_named() {
        let head = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..];
        let body = [&b"20\r\n"[..], &[b'x'; 32], b"\r\n"].concat();
        let cap = head.len() + 32 + 40;
        let long_last = [head, &body, b"0;", &[b'e'; 100], b"\r\n\r\n"].concat();
        let long_trailer = [head, &body, b"0\r\nx-t: ", &[b'v'; 100], b"\r\n\r\n"].concat();
        for wire in [&long_last, &long_trailer] {
            for step in [wire.len(), 7, 1] {
                assert_eq!(
                    feed(wire, cap, Limits::default(), step, true),
                    Err(HttpError::FramingTooLarge { room: 40 }),
                    "step {step}"
                );
            }
        }
        let big_chunk = [head, b"60\r\n", &[b'x'; 96], b"\r\n0\r\n\r\n"].concat();
        assert_eq!(
            feed(&big_chunk, cap, Limits::default(), 7, true),
            Err(HttpError::BodyTooLarge { limit: 72 })
        );
    }

    #[test]
    fn close_delimited_body_limit() {
        let mut wire = Vec::from(&b"HTTP/1.1 200 OK\r\n\r\n"[..]);
        wire.resize(200, b'a');
        let limits = Limits {
            max_head: 4096,
            max_body: 100,
        };
        assert_eq!(
            feed(&wire, 4096, limits, 7, true),
            Err(HttpError::BodyTooLarge { limit: 100 })
        );
        assert_eq!(
            err(&wire, 150, true),
            HttpError::BodyTooLarge { limit: 131 }
        );
    }

    #[test]
    fn chunked_body_fills_a_tight_buffer() {
        // 40 data bytes in 1-byte chunks: 200+ bytes of framing, decoded in place into a
        // buffer that could never hold the raw framing at once.
        let mut wire = Vec::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
        for i in 0..40u8 {
            wire.extend_from_slice(b"1\r\n");
            wire.push(b'a' + i % 26);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let got = feed(&wire, 48 + 40 + 8, Limits::default(), 5, false).unwrap();
        assert_eq!(got.2.len(), 40);
        assert_eq!(&got.2[..3], b"abc");
    }
}
