//! Raw non-ASCII bytes in an HTTP/1 request line, written as `%XX` escapes before hyper parses
//! it. hyper refuses such a line with a bare `400` (no body), before any of our code runs;
//! escaped, the address reaches the router like any other, and one that is not UTF-8 under
//! `/api/` or `/ws/` gets its JSON error there (`web::utf8`). Only request lines are touched,
//! never headers, bodies or upgraded connections.
//!
//! The server speaks HTTP/1.1 only (HTTP/2 belongs to the TLS proxy in front): `Preface`
//! follows a connection's first bytes, and the stream closes one that opens with the HTTP/2
//! preface before hyper sees it.

/// Where the bytes being read are, for the escaper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Past the request line: headers, a body, or bytes between requests not begun yet.
    Elsewhere,
    /// Inside a request line, up to its `\n`.
    Request,
}

/// The HTTP/2 connection preface's first line.
const PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// How much of the HTTP/2 preface's first line a connection's first bytes have matched so
/// far, however the reads split them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preface {
    /// The first bytes so far, all of them a beginning of the line.
    Matched(usize),
    /// They differ from the line: an HTTP/1 connection.
    No,
}

impl Preface {
    /// A connection that has sent nothing yet.
    pub const START: Preface = Preface::Matched(0);

    /// Follows the next bytes read; true once the whole line has been seen (an HTTP/2
    /// connection, to be closed).
    pub fn seen(&mut self, bytes: &[u8]) -> bool {
        let Preface::Matched(done) = *self else {
            return false;
        };
        let rest = &PREFACE[done..];
        let more = rest.len().min(bytes.len());
        if bytes[..more] != rest[..more] {
            *self = Preface::No;
            return false;
        }
        *self = Preface::Matched(done + more);
        done + more == PREFACE.len()
    }
}

/// Escapes the non-ASCII bytes of `bytes` that lie in a request line, given where the first
/// of them lies; returns the new position, and the rewritten bytes if anything changed.
/// `starts_request` says these bytes are the first of a request.
pub fn escape(bytes: &[u8], mut line: Line, starts_request: bool) -> (Line, Option<Vec<u8>>) {
    if starts_request {
        // The rest of a body hyper is draining after its answer looks like no request line.
        line = if looks_like_a_method(bytes) {
            Line::Request
        } else {
            Line::Elsewhere
        };
    }
    if line != Line::Request {
        return (line, None);
    }
    let end = bytes.iter().position(|b| *b == b'\n');
    let in_line = &bytes[..end.map_or(bytes.len(), |at| at + 1)];
    let after = if end.is_some() {
        Line::Elsewhere
    } else {
        Line::Request
    };
    if in_line.is_ascii() {
        return (after, None);
    }
    let mut out = Vec::with_capacity(bytes.len() + 2 * in_line.len());
    for byte in in_line {
        if byte.is_ascii() {
            out.push(*byte);
        } else {
            out.extend_from_slice(format!("%{byte:02X}").as_bytes());
        }
    }
    out.extend_from_slice(&bytes[in_line.len()..]);
    (after, Some(out))
}

/// Whether `bytes` begin as a request line does: a method of capital letters, then a space
/// (or the read ended inside the method).
fn looks_like_a_method(bytes: &[u8]) -> bool {
    let method = bytes.iter().take_while(|b| b.is_ascii_uppercase()).count();
    method > 0 && bytes.get(method).is_none_or(|b| *b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_request_line_is_escaped() {
        let request = b"GET /api/\xff\xfe?q=\xc3 HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n";
        let (line, out) = escape(request, Line::Elsewhere, true);
        assert_eq!(line, Line::Elsewhere);
        assert_eq!(
            out.unwrap(),
            b"GET /api/%FF%FE?q=%C3 HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn a_line_split_across_reads_is_escaped_to_its_end() {
        let (line, out) = escape(b"GET /a\xff", Line::Elsewhere, true);
        assert_eq!((line, out.unwrap()), (Line::Request, b"GET /a%FF".to_vec()));
        let (line, out) = escape(b"\xff HTTP/1.1\r\n\xff", line, false);
        assert_eq!(
            (line, out.unwrap()),
            (Line::Elsewhere, b"%FF HTTP/1.1\r\n\xff".to_vec())
        );
        let (line, out) = escape(b"body \xff", line, false);
        assert_eq!((line, out), (Line::Elsewhere, None));
    }

    #[test]
    fn bytes_that_begin_no_request_line_are_left_alone() {
        for bytes in [
            b"\x89PNG\r\n\xff".as_slice(),
            b"{\"a\": \"\xc3\xa9\"}",
            b"Hello \xff\n",
        ] {
            let (line, out) = escape(bytes, Line::Elsewhere, true);
            assert_eq!((line, out), (Line::Elsewhere, None));
        }
    }

    #[test]
    fn plain_lines_are_left_alone() {
        let (line, out) = escape(b"GET / HTTP/1.1\r\n", Line::Elsewhere, true);
        assert_eq!((line, out), (Line::Elsewhere, None));
    }

    #[test]
    fn the_http2_preface_is_seen_however_it_is_split() {
        let mut whole = Preface::START;
        assert!(whole.seen(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        let mut pieces = Preface::START;
        assert!(!pieces.seen(b"P"));
        assert!(!pieces.seen(b"RI * HT"));
        assert!(pieces.seen(b"TP/2.0\r\n"));
        let mut byte_by_byte = Preface::START;
        let seen: Vec<bool> = PREFACE.iter().map(|b| byte_by_byte.seen(&[*b])).collect();
        assert_eq!(seen.iter().filter(|seen| **seen).count(), 1);
        assert_eq!(seen.last(), Some(&true));
    }

    #[test]
    fn a_beginning_of_the_preface_is_still_http1() {
        // "P" or "PR" alone, then a request line that goes another way: HTTP/1, escaped.
        let mut preface = Preface::START;
        assert!(!preface.seen(b"P"));
        let (line, out) = escape(b"P", Line::Elsewhere, true);
        assert_eq!((line, out), (Line::Request, None));
        assert!(!preface.seen(b"UT /api/\xff HTTP/1.1\r\n"));
        assert_eq!(preface, Preface::No);
        let (line, out) = escape(b"UT /api/\xff HTTP/1.1\r\n", line, false);
        assert_eq!(
            (line, out.unwrap()),
            (Line::Elsewhere, b"UT /api/%FF HTTP/1.1\r\n".to_vec())
        );
        let mut preface = Preface::START;
        assert!(!preface.seen(b"PR"));
        assert!(!preface.seen(b"I * HTTP/1.1\r\n"));
        assert!(
            !preface.seen(b"PRI * HTTP/2.0"),
            "only the first bytes count"
        );
        let mut preface = Preface::START;
        assert!(!preface.seen(b"GET / HTTP/1.1\r\n"));
        assert!(!preface.seen(b"PRI * HTTP/2.0\r\n"));
    }
}
