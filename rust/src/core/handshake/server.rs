//! Server side of the upgrade: check the client's request, pick a sub-protocol, answer 101 or
//! an HTTP error.

use tungstenite::handshake::derive_accept_key;
use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server::Request;

use super::{check_header_line, clip, has_token, header, list, MAX_HEAD_BYTES};
use crate::core::deflate::params::{self, Agreement};
use crate::core::error::WsError;

/// What the server answers with.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Sub-protocols we support (entries are trimmed; empty ones skipped).
    pub protocols: Vec<String>,
    /// Extra header lines for the 101 response.
    pub headers: Vec<String>,
    /// Whether the stream is TLS (for the requested URL's scheme).
    pub secure: bool,
    /// Accept permessage-deflate offers, asking the client for this window (9..=15) where its
    /// offer allows; `None` declines every offer.
    pub compression: Option<u8>,
}

/// A server handshake waiting for the client's request.
#[derive(Debug)]
pub struct ServerHandshake {
    config: ServerConfig,
}

/// The request was accepted: send `response`, then the connection is open.
#[derive(Debug, PartialEq, Eq)]
pub struct Upgrade {
    pub response: Vec<u8>,
    pub protocol: String,
    /// `ws://` or `wss://` + Host + request target.
    pub requested_url: String,
    /// Bytes of the input the request head used; the rest are frames.
    pub head_len: usize,
    /// permessage-deflate as we accepted it.
    pub deflate: Option<Agreement>,
}

/// The request was refused: send `response` (an HTTP error), then close.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub response: Vec<u8>,
    pub why: WsError,
}

impl ServerHandshake {
    /// Checks the configured headers up front, so a bad one is reported to the caller of
    /// `accept_stream` rather than to each client.
    pub fn new(mut config: ServerConfig) -> Result<ServerHandshake, WsError> {
        for line in &config.headers {
            check_header_line(line).map_err(WsError::InvalidHeader)?;
        }
        config.protocols = config
            .protocols
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(ServerHandshake { config })
    }

    /// Looks for a complete request head at the start of `input`. `Ok(None)` means "not yet".
    pub fn read_request(&self, input: &[u8]) -> Result<Option<Upgrade>, Refusal> {
        let parsed = match Request::try_parse(&input[..input.len().min(MAX_HEAD_BYTES)]) {
            Ok(p) => p,
            Err(e) => return Err(refuse(400, &[], format!("malformed HTTP request: {e}"))),
        };
        let Some((head_len, request)) = parsed else {
            // Only the first MAX_HEAD_BYTES are parsed, so a head that is complete but longer
            // is refused the same way as one that never ends.
            if input.len() >= MAX_HEAD_BYTES {
                return Err(refuse(
                    431,
                    &[],
                    format!("request head longer than {MAX_HEAD_BYTES} bytes"),
                ));
            }
            return Ok(None);
        };
        let headers = request.headers();
        let upgrade = header(headers, "upgrade").unwrap_or_default();
        if !has_token(&upgrade, "websocket") {
            return Err(refuse(
                400,
                &[],
                format!("Upgrade header \"{upgrade}\" does not ask for websocket"),
            ));
        }
        let connection = header(headers, "connection").unwrap_or_default();
        if !has_token(&connection, "upgrade") {
            return Err(refuse(
                400,
                &[],
                format!("Connection header \"{connection}\" has no \"upgrade\""),
            ));
        }
        let version = header(headers, "sec-websocket-version").unwrap_or_default();
        if version.trim() != "13" {
            let why = format!("unsupported Sec-WebSocket-Version \"{version}\"");
            return Err(refuse(426, &["Sec-WebSocket-Version: 13"], why));
        }
        let key = header(headers, "sec-websocket-key").unwrap_or_default();
        if !valid_key(key.trim()) {
            return Err(refuse(400, &[], format!("bad Sec-WebSocket-Key \"{key}\"")));
        }
        let offered = header(headers, "sec-websocket-protocol")
            .map(|v| list(&v))
            .unwrap_or_default();
        let protocol = self.select_protocol(&offered)?;
        let deflate = match (
            self.config.compression,
            header(headers, "sec-websocket-extensions"),
        ) {
            (Some(bits), Some(offers)) => params::accept_offer(&offers, bits),
            _ => None,
        };
        let host = header(headers, "host").unwrap_or_default();
        let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let scheme = if self.config.secure { "wss" } else { "ws" };
        Ok(Some(Upgrade {
            response: self.response(key.trim(), &protocol, deflate.as_ref()),
            protocol,
            requested_url: format!("{scheme}://{host}{target}"),
            head_len,
            deflate,
        }))
    }

    /// The engine's rule: the first of the client's protocols (in the client's order) that we
    /// support. No overlap, or a list on one side only, refuses the client.
    fn select_protocol(&self, offered: &[String]) -> Result<String, Refusal> {
        let ours = &self.config.protocols;
        if offered.is_empty() && ours.is_empty() {
            return Ok(String::new());
        }
        if let Some(p) = offered.iter().find(|p| ours.contains(p)) {
            return Ok(p.clone());
        }
        let why = if offered.is_empty() {
            format!("the client offered no sub-protocol; the server requires one of {ours:?}")
        } else {
            format!(
                "none of the client's sub-protocols {offered:?} is supported (server: {ours:?})"
            )
        };
        Err(refuse(400, &[], why))
    }

    fn response(&self, key: &str, protocol: &str, deflate: Option<&Agreement>) -> Vec<u8> {
        let mut text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
            derive_accept_key(key.as_bytes())
        );
        if !protocol.is_empty() {
            text.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
        }
        if let Some(agreement) = deflate {
            text.push_str(&format!("Sec-WebSocket-Extensions: {agreement}\r\n"));
        }
        for line in &self.config.headers {
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        text.into_bytes()
    }
}

/// RFC 6455 section 4.2.1: the key is the base64 encoding of 16 bytes (24 characters, `==` end).
fn valid_key(key: &str) -> bool {
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let bytes = key.as_bytes();
    bytes.len() == 24 && bytes[..22].iter().all(|&c| b64(c)) && &bytes[22..] == b"=="
}

fn refuse(status: u16, extra: &[&str], why: String) -> Refusal {
    let why = clip(why);
    let reason = match status {
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let body = format!("{why}\n");
    let mut text = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n", body.len());
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.push_str(&body);
    Refusal {
        response: text.into_bytes(),
        why: WsError::Handshake(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(extra: &str) -> String {
        format!(
            "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    }

    fn server(protocols: &[&str]) -> ServerHandshake {
        ServerHandshake::new(ServerConfig {
            protocols: protocols.iter().map(|s| s.to_string()).collect(),
            headers: vec!["X-Server: test".into()],
            secure: false,
            compression: None,
        })
        .unwrap()
    }

    fn status(r: &Refusal) -> String {
        String::from_utf8_lossy(&r.response)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    }

    #[test]
    fn answers_the_rfc_6455_example() {
        let req = request("");
        let mut input = req.clone().into_bytes();
        input.extend([0x81, 0x80, 1, 2, 3, 4]); // a pipelined frame stays for the reader
        assert_eq!(server(&[]).read_request(&input[..req.len() - 1]), Ok(None));
        let up = server(&[]).read_request(&input).unwrap().unwrap();
        let text = String::from_utf8(up.response).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.ends_with("X-Server: test\r\n\r\n"));
        assert_eq!(
            (up.head_len, up.requested_url.as_str()),
            (req.len(), "ws://server.example.com/chat?x=1")
        );
    }

    #[test]
    fn picks_the_first_client_protocol_the_server_supports() {
        let up = server(&["a", "b"])
            .read_request(request("Sec-WebSocket-Protocol: b, a\r\n").as_bytes());
        let up = up.unwrap().unwrap();
        assert_eq!(up.protocol, "b");
        assert!(String::from_utf8(up.response)
            .unwrap()
            .contains("Sec-WebSocket-Protocol: b\r\n"));
        for (ours, theirs) in [
            (vec!["a"], "Sec-WebSocket-Protocol: z\r\n"),
            (vec![], "Sec-WebSocket-Protocol: z\r\n"),
            (vec!["a"], ""),
        ] {
            let r = server(&ours)
                .read_request(request(theirs).as_bytes())
                .unwrap_err();
            assert_eq!(
                status(&r),
                "HTTP/1.1 400 Bad Request",
                "{ours:?} / {theirs:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_requests_with_an_http_error() {
        let ok = request("");
        let cases = [
            ("garbage\r\n\r\n".to_string(), 400),
            ("GET /\r\n\r\n".to_string(), 400),
            (ok.replace("GET", "POST"), 400),
            (ok.replace("Upgrade: websocket", "Upgrade: h2c"), 400),
            (ok.replace("Connection: Upgrade", "Connection: close"), 400),
            (ok.replace("Version: 13", "Version: 8"), 426),
            (ok.replace(KEY, "short"), 400),
            (
                ok.replace(&format!("Sec-WebSocket-Key: {KEY}\r\n"), ""),
                400,
            ),
        ];
        for (req, code) in cases {
            let r = server(&[]).read_request(req.as_bytes()).unwrap_err();
            assert!(
                status(&r).starts_with(&format!("HTTP/1.1 {code} ")),
                "{req:?} gave {}",
                status(&r)
            );
            assert!(matches!(r.why, WsError::Handshake(_)));
        }
        let huge = format!(
            "GET / HTTP/1.1\r\nX-Big: {}\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        let complete = request(&format!("X-Big: {}\r\n", "a".repeat(MAX_HEAD_BYTES)));
        let r = server(&[]).read_request(complete.as_bytes()).unwrap_err();
        assert!(
            status(&r).contains("431"),
            "complete but oversized: {}",
            status(&r)
        );
        assert!(status(&server(&[]).read_request(huge.as_bytes()).unwrap_err()).contains("431"));
        let r = server(&[])
            .read_request(ok.replace("Version: 13", "Version: 8").as_bytes())
            .unwrap_err();
        assert!(String::from_utf8(r.response)
            .unwrap()
            .contains("Sec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn refuses_bad_configured_headers() {
        let bad = ServerConfig {
            headers: vec!["X: a\nY: b".into()],
            ..Default::default()
        };
        assert!(matches!(
            ServerHandshake::new(bad),
            Err(WsError::InvalidHeader(_))
        ));
    }

    #[test]
    fn answers_a_permessage_deflate_offer_only_when_enabled() {
        let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, \
                     permessage-deflate\r\n";
        let up = server(&[])
            .read_request(request(offer).as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(up.deflate, None);
        assert!(!String::from_utf8(up.response)
            .unwrap()
            .contains("Extensions"));
        let on = ServerHandshake::new(ServerConfig {
            compression: Some(15),
            ..Default::default()
        })
        .unwrap();
        let up = on.read_request(request(offer).as_bytes()).unwrap().unwrap();
        assert_eq!(up.deflate, Some(Agreement::default()));
        assert!(String::from_utf8(up.response)
            .unwrap()
            .contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"));
        // Nothing we can honour: the connection goes on uncompressed.
        let up = on
            .read_request(
                request(
                    "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n",
                )
                .as_bytes(),
            )
            .unwrap()
            .unwrap();
        assert_eq!(up.deflate, None);
    }
}
