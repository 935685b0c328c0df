//! The `CONNECT` exchange with an HTTP proxy (RFC 9110 section 9.3.6): the request we send and
//! the answer head we wait for, read from a bounded buffer the way the upgrade response is.

use crate::core::error::ProxyFailure;
use crate::core::url::Target;

use super::address::Proxy;

/// The largest answer head we read from a proxy before giving up (the same bound as for the
/// upgrade response).
pub const MAX_ANSWER_HEAD: usize = crate::core::handshake::MAX_HEAD_BYTES;

/// Header lines an answer may have; a real proxy sends a handful.
const MAX_ANSWER_HEADERS: usize = 64;

/// `host:port` of the target as the URL names it (IPv6 in brackets), never resolved by us: the
/// proxy resolves it, which is what lets a client without DNS of its own get through.
pub fn authority(target: &Target) -> String {
    if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    }
}

/// The request that asks `proxy` for a tunnel to `target`. Nothing of it comes from text the
/// caller could have filled with line breaks: the host was parsed as a URL host and the
/// credentials are base64.
pub fn connect_request(target: &Target, proxy: &Proxy) -> Vec<u8> {
    let authority = authority(target);
    let mut text = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(credentials) = &proxy.credentials {
        text.push_str("Proxy-Authorization: ");
        text.push_str(&credentials.header_value());
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Looks for the proxy's complete answer head at the start of `input`. `Ok(None)`: not yet.
/// `Ok(Some(n))`: a 2xx answer whose head is `n` bytes long; the tunnel is open after them.
/// Anything else fails: a refusal with its status line, garbage, or a head over the limit.
pub fn read_answer(input: &[u8]) -> Result<Option<usize>, ProxyFailure> {
    let window = &input[..input.len().min(MAX_ANSWER_HEAD)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_ANSWER_HEADERS];
    let mut answer = httparse::Response::new(&mut headers);
    let head_len = match answer.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if input.len() >= MAX_ANSWER_HEAD => {
            return Err(ProxyFailure::BadAnswer(format!(
                "answer head longer than {MAX_ANSWER_HEAD} bytes"
            )))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProxyFailure::BadAnswer(format!(
                "more than {MAX_ANSWER_HEADERS} header lines"
            )))
        }
        Err(e) => {
            return Err(ProxyFailure::BadAnswer(format!(
                "not an HTTP answer ({e}): it starts with \"{}\"",
                preview(input)
            )))
        }
    };
    let code = answer.code.unwrap_or(0);
    if !(200..300).contains(&code) {
        return Err(ProxyFailure::Refused(status_line(code, answer.reason)));
    }
    Ok(Some(head_len))
}

/// `407 Proxy Authentication Required`: the code with the proxy's own reason phrase, or the
/// standard one when it sent none (printable ASCII only, at most 100 characters).
fn status_line(code: u16, reason: Option<&str>) -> String {
    let theirs: String = reason
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect();
    let reason = match theirs.trim() {
        "" => tungstenite::http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
        r => r,
    };
    format!("{code} {reason}").trim_end().to_owned()
}

/// The first bytes of `input`, printable, for a message about garbage.
fn preview(input: &[u8]) -> String {
    let head = &input[..input.len().min(24)];
    String::from_utf8_lossy(head).escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::url;

    fn proxy(host: &str) -> Proxy {
        Proxy::from_setter(host, 3128).unwrap().unwrap()
    }

    #[test]
    fn the_request_names_the_target_as_the_url_does() {
        let target = url::parse("wss://Example.com/chat").unwrap();
        let text = String::from_utf8(connect_request(&target, &proxy("proxy"))).unwrap();
        assert_eq!(
            text,
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        );
        let target = url::parse("ws://[::1]:9000/").unwrap();
        let text = String::from_utf8(connect_request(&target, &proxy("proxy"))).unwrap();
        assert!(
            text.starts_with("CONNECT [::1]:9000 HTTP/1.1\r\nHost: [::1]:9000\r\n"),
            "{text}"
        );
        let target = url::parse("ws://localhost:8080/x?y").unwrap();
        let text = String::from_utf8(connect_request(
            &target,
            &proxy("Aladdin:open%20sesame@proxy"),
        ))
        .unwrap();
        assert_eq!(
            text,
            "CONNECT localhost:8080 HTTP/1.1\r\nHost: localhost:8080\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
    }

    #[test]
    fn a_2xx_answer_opens_the_tunnel_after_its_head_in_any_pieces() {
        for answer in [
            &b"HTTP/1.1 200 Connection established\r\n\r\n"[..],
            b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 204\r\n\r\n",
        ] {
            for cut in 0..answer.len() {
                assert_eq!(read_answer(&answer[..cut]), Ok(None), "{cut}");
            }
            let mut more = answer.to_vec();
            more.extend_from_slice(b"\x16\x03\x01");
            assert_eq!(read_answer(&more), Ok(Some(answer.len())));
        }
    }

    #[test]
    fn refusals_carry_the_status_line() {
        let cases: [(&[u8], &str); 5] = [
            (
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
                "407 Proxy Authentication Required",
            ),
            (
                b"HTTP/1.0 401 Unauthorized\r\n\r\n<html>",
                "401 Unauthorized",
            ),
            (b"HTTP/1.1 403 \r\n\r\n", "403 Forbidden"),
            (
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nbody!",
                "502 Bad Gateway",
            ),
            (
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
                "101 Switching Protocols",
            ),
        ];
        for (answer, line) in cases {
            assert_eq!(read_answer(answer), Err(ProxyFailure::Refused(line.into())));
        }
    }

    #[test]
    fn garbage_and_oversized_heads_fail() {
        for garbage in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"\x16\x03\x01\x00",
            b"HTTP/2 200\r\n\r\n",
        ] {
            assert!(
                matches!(read_answer(garbage), Err(ProxyFailure::BadAnswer(_))),
                "{garbage:?}"
            );
        }
        let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
        while long.len() < MAX_ANSWER_HEAD {
            long.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        // Too many lines is caught first; one endless header line by the size.
        assert!(matches!(
            read_answer(&long),
            Err(ProxyFailure::BadAnswer(_))
        ));
        let mut endless = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        endless.resize(MAX_ANSWER_HEAD, b'a');
        assert_eq!(read_answer(&endless[..MAX_ANSWER_HEAD - 1]), Ok(None));
        match read_answer(&endless) {
            Err(ProxyFailure::BadAnswer(why)) => assert!(why.contains("longer than"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    /// Damaged answers (bit flips, cuts, inserted bytes) never panic, and whatever is accepted
    /// is a 2xx head no longer than the input.
    #[test]
    fn damaged_answers_never_panic() {
        let valid = b"HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\n";
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut input = valid.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = next() as usize % input.len();
                match next() % 3 {
                    0 => input[at] ^= 1 << (next() % 8),
                    1 => input.truncate(at),
                    _ => input.insert(at, next() as u8),
                }
                if input.is_empty() {
                    input.push(b'H');
                }
            }
            if let Ok(Some(n)) = read_answer(&input) {
                assert!(n <= input.len());
                assert!(
                    input.starts_with(b"HTTP/1.") && input[9] == b'2',
                    "{input:?}"
                );
            }
        }
    }
}
