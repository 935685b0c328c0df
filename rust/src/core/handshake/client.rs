//! Client side of the upgrade: build the request, check the 101 response.

use tungstenite::handshake::client::{generate_key, Response};
use tungstenite::handshake::derive_accept_key;
use tungstenite::handshake::machine::TryParse;

use super::{check_header_line, clip, has_token, header, MAX_HEAD_BYTES};
use crate::core::deflate::params::{self, Agreement};
use crate::core::error::WsError;

/// What the request says, besides the key.
#[derive(Clone, Debug, Default)]
pub struct ClientRequest {
    /// Value of the `Host` header.
    pub host_header: String,
    /// Path and query.
    pub resource: String,
    /// Sub-protocols to offer, in order of preference (empty entries are skipped).
    pub protocols: Vec<String>,
    /// Extra header lines, `"Name: value"`, sent as given.
    pub headers: Vec<String>,
    /// Offer permessage-deflate ([`params::CLIENT_OFFER`]).
    pub compression: bool,
}

/// A client handshake waiting for its response.
#[derive(Debug)]
pub struct ClientHandshake {
    key: String,
    protocols: Vec<String>,
    compression: bool,
}

/// A successful upgrade.
#[derive(Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The sub-protocol the server chose, or empty.
    pub protocol: String,
    /// Bytes of the input the response head used; the rest are frames.
    pub head_len: usize,
    /// permessage-deflate as the server accepted it.
    pub deflate: Option<Agreement>,
}

impl ClientHandshake {
    /// Checks the request and returns the handshake with the bytes to send.
    pub fn start(request: &ClientRequest) -> Result<(ClientHandshake, Vec<u8>), WsError> {
        for line in &request.headers {
            check_header_line(line).map_err(WsError::InvalidHeader)?;
        }
        let protocols: Vec<String> = request
            .protocols
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        if let Some(bad) = protocols
            .iter()
            .find(|p| p.contains([',', '\r', '\n', ' ']))
        {
            return Err(WsError::InvalidArgument(format!(
                "sub-protocol \"{}\" is not a token",
                bad.escape_debug()
            )));
        }
        let key = generate_key();
        let mut text = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            request.resource, request.host_header
        );
        if !protocols.is_empty() {
            text.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                protocols.join(",")
            ));
        }
        if request.compression {
            text.push_str(&format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                params::CLIENT_OFFER
            ));
        }
        for line in &request.headers {
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        let handshake = ClientHandshake {
            key,
            protocols,
            compression: request.compression,
        };
        Ok((handshake, text.into_bytes()))
    }

    /// Looks for a complete response head at the start of `input`. `Ok(None)` means "not yet".
    pub fn read_response(&self, input: &[u8]) -> Result<Option<Accepted>, WsError> {
        let fail = |why: String| WsError::Handshake(clip(why));
        let parsed = Response::try_parse(&input[..input.len().min(MAX_HEAD_BYTES)])
            .map_err(|e| fail(format!("malformed HTTP response: {e}")))?;
        let Some((head_len, response)) = parsed else {
            // Only the first MAX_HEAD_BYTES are parsed, so a head that is complete but longer
            // is refused the same way as one that never ends.
            if input.len() >= MAX_HEAD_BYTES {
                return Err(fail(format!(
                    "response head longer than {MAX_HEAD_BYTES} bytes"
                )));
            }
            return Ok(None);
        };
        let status = response.status();
        if status.as_u16() != 101 {
            return Err(fail(format!(
                "server answered HTTP {} {} instead of 101 Switching Protocols",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )));
        }
        let headers = response.headers();
        let upgrade = header(headers, "upgrade").unwrap_or_default();
        if !upgrade.trim().eq_ignore_ascii_case("websocket") {
            return Err(fail(format!(
                "Upgrade header is \"{upgrade}\", not \"websocket\""
            )));
        }
        let connection = header(headers, "connection").unwrap_or_default();
        if !has_token(&connection, "upgrade") {
            return Err(fail(format!(
                "Connection header \"{connection}\" has no \"upgrade\""
            )));
        }
        let expected = derive_accept_key(self.key.as_bytes());
        match header(headers, "sec-websocket-accept") {
            Some(accept) if accept.trim() == expected => {}
            Some(accept) => {
                return Err(fail(format!(
                    "Sec-WebSocket-Accept \"{accept}\" does not match the key"
                )))
            }
            None => return Err(fail("no Sec-WebSocket-Accept header".into())),
        }
        let protocol = header(headers, "sec-websocket-protocol").map(|p| p.trim().to_owned());
        let protocol = match (protocol, self.protocols.is_empty()) {
            (None, true) => String::new(),
            (Some(p), false) if self.protocols.contains(&p) => p,
            (Some(p), true) => {
                return Err(fail(format!(
                    "server chose sub-protocol \"{p}\" but none was offered"
                )))
            }
            (Some(p), false) => {
                return Err(fail(format!(
                    "server chose sub-protocol \"{p}\", which was not offered"
                )))
            }
            (None, false) => {
                return Err(fail(
                    "server accepted none of the offered sub-protocols".into(),
                ))
            }
        };
        let deflate = match header(headers, "sec-websocket-extensions") {
            Some(v) if !v.trim().is_empty() => {
                Some(params::check_answer(&v, self.compression).map_err(fail)?)
            }
            _ => None,
        };
        Ok(Some(Accepted {
            protocol,
            head_len,
            deflate,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(protocols: &[&str]) -> ClientRequest {
        ClientRequest {
            host_header: "example.com:8080".into(),
            resource: "/chat?x=1".into(),
            protocols: protocols.iter().map(|s| s.to_string()).collect(),
            headers: vec!["X-Token: abc".into()],
            compression: false,
        }
    }

    /// A 101 response for the request bytes `req`, with extra header lines.
    fn response_for(req: &[u8], extra: &str) -> Vec<u8> {
        let text = std::str::from_utf8(req).unwrap();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            derive_accept_key(key.as_bytes())
        )
        .into_bytes()
    }

    #[test]
    fn builds_the_request_the_engine_builds() {
        let (_, bytes) = ClientHandshake::start(&request(&["a", " b "])).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Protocol: a,b\r\n"));
        assert!(text.ends_with("\r\nX-Token: abc\r\n\r\n"));
        let (_, bytes) = ClientHandshake::start(&request(&[])).unwrap();
        assert!(!String::from_utf8(bytes).unwrap().contains("Protocol"));
    }

    #[test]
    fn accepts_a_valid_response_in_pieces_and_keeps_what_follows() {
        let (hs, req) = ClientHandshake::start(&request(&["a", "b"])).unwrap();
        let mut input = response_for(&req, "Sec-WebSocket-Protocol: b\r\n");
        let head = input.len();
        input.extend([0x81, 0x00]);
        assert_eq!(hs.read_response(&input[..head - 1]).unwrap(), None);
        assert_eq!(
            hs.read_response(&input).unwrap(),
            Some(Accepted {
                protocol: "b".into(),
                head_len: head,
                deflate: None,
            })
        );
    }

    #[test]
    fn accepts_connection_header_lists_which_the_engine_rejects() {
        let (hs, req) = ClientHandshake::start(&request(&[])).unwrap();
        let resp = String::from_utf8(response_for(&req, ""))
            .unwrap()
            .replace("Connection: Upgrade", "Connection: keep-alive, Upgrade");
        assert!(hs.read_response(resp.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn rejects_bad_responses_with_a_reason() {
        let (hs, req) = ClientHandshake::start(&request(&["a"])).unwrap();
        let ok = String::from_utf8(response_for(&req, "Sec-WebSocket-Protocol: a\r\n")).unwrap();
        let cases = [
            (
                ok.replace("101 Switching Protocols", "403 Forbidden"),
                "403",
            ),
            (ok.replace("HTTP/1.1", "HTTP/1.0"), "malformed"),
            (ok.replace("Upgrade: websocket", "Upgrade: h2c"), "Upgrade"),
            (
                ok.replace("Connection: Upgrade", "Connection: close"),
                "Connection",
            ),
            (
                ok.replace("Sec-WebSocket-Accept: ", "Sec-WebSocket-Accept: x"),
                "does not match",
            ),
            (
                ok.replace("Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: z"),
                "not offered",
            ),
            (
                ok.replace("Sec-WebSocket-Protocol: a\r\n", ""),
                "none of the offered",
            ),
            ("garbage\r\n\r\n".to_string(), "malformed"),
        ];
        for (resp, why) in cases {
            match hs.read_response(resp.as_bytes()) {
                Err(WsError::Handshake(msg)) => assert!(msg.contains(why), "{msg} lacks {why}"),
                other => panic!("{resp:?} gave {other:?}"),
            }
        }
        let (hs, req) = ClientHandshake::start(&request(&[])).unwrap();
        let unasked = response_for(&req, "Sec-WebSocket-Protocol: a\r\n");
        assert!(matches!(
            hs.read_response(&unasked),
            Err(WsError::Handshake(_))
        ));
        let big = String::from_utf8(response_for(
            &req,
            &format!("X-Big: {}\r\n", "a".repeat(MAX_HEAD_BYTES)),
        ))
        .unwrap();
        assert!(
            matches!(hs.read_response(big.as_bytes()), Err(WsError::Handshake(m)) if m.contains("longer"))
        );
        assert!(matches!(
            hs.read_response(&vec![b'x'; MAX_HEAD_BYTES + 1]),
            Err(WsError::Handshake(_))
        ));
    }

    #[test]
    fn refuses_header_injection() {
        let mut r = request(&[]);
        r.headers = vec!["X-A: 1\r\nX-B: 2".into()];
        assert!(matches!(
            ClientHandshake::start(&r),
            Err(WsError::InvalidHeader(_))
        ));
        assert!(matches!(
            ClientHandshake::start(&request(&["a b"])),
            Err(WsError::InvalidArgument(_))
        ));
    }

    #[test]
    fn offers_permessage_deflate_and_reads_the_agreement() {
        let mut r = request(&[]);
        r.compression = true;
        let (hs, req) = ClientHandshake::start(&r).unwrap();
        let text = String::from_utf8(req.clone()).unwrap();
        assert!(text.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        ));
        let resp = response_for(
            &req,
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n",
        );
        let accepted = hs.read_response(&resp).unwrap().unwrap();
        assert_eq!(
            accepted.deflate.unwrap().to_string(),
            "permessage-deflate; client_max_window_bits=9"
        );
        // Declined: no header, no compression.
        let plain = hs.read_response(&response_for(&req, "")).unwrap().unwrap();
        assert_eq!(plain.deflate, None);
        // Not offered: the answer fails the handshake, with the reason.
        let (hs, req) = ClientHandshake::start(&request(&[])).unwrap();
        assert!(!String::from_utf8(req.clone())
            .unwrap()
            .contains("Extensions"));
        let resp = response_for(&req, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        match hs.read_response(&resp) {
            Err(WsError::Handshake(m)) => assert!(m.contains("none was offered"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
