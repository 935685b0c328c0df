//! WebSocket URLs: what `connect_to_url` accepts and what the handshake needs from it.

use url::{Host, Position, Url};

use super::error::WsError;

/// A parsed `ws://` or `wss://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `wss://`.
    pub secure: bool,
    /// Host name or IP literal as used to connect (IPv6 without brackets).
    pub host: String,
    /// Whether `host` is an IP literal (no DNS, no TLS server name).
    pub is_ip: bool,
    pub port: u16,
    /// Path and query, at least `/`, as sent in the request line.
    pub resource: String,
    /// Value of the `Host` header: IPv6 in brackets, port only when not the scheme's default.
    pub host_header: String,
}

/// Parses a WebSocket URL. Unlike the engine, a missing scheme is an error: the engine reads any
/// string without one as `ws://` (so a typo connects to a host named after it, godot#81839).
/// IPv6 hosts keep their brackets in the `Host` header (the engine drops them).
pub fn parse(input: &str) -> Result<Target, WsError> {
    let bad = |why: String| WsError::InvalidUrl(format!("{why}: \"{input}\""));
    if input.trim().is_empty() {
        return Err(bad("the URL is empty".into()));
    }
    let url = Url::parse(input.trim()).map_err(|e| bad(e.to_string()))?;
    let secure = match url.scheme() {
        "ws" => false,
        "wss" => true,
        other => {
            return Err(bad(format!(
                "scheme must be ws:// or wss://, not {other}://"
            )))
        }
    };
    let (host, is_ip, bracketed) = match url.host() {
        Some(Host::Domain(d)) if !d.is_empty() => (d.to_owned(), false, d.to_owned()),
        Some(Host::Ipv4(a)) => (a.to_string(), true, a.to_string()),
        Some(Host::Ipv6(a)) => (a.to_string(), true, format!("[{a}]")),
        _ => return Err(bad("the URL has no host".into())),
    };
    let default_port = if secure { 443 } else { 80 };
    let port = url.port().unwrap_or(default_port);
    if port == 0 {
        return Err(bad("port 0 is not a valid port".into()));
    }
    let host_header = if port == default_port {
        bracketed
    } else {
        format!("{bracketed}:{port}")
    };
    let mut resource = url[Position::BeforePath..Position::AfterQuery].to_owned();
    if !resource.starts_with('/') {
        resource.insert(0, '/');
    }
    Ok(Target {
        secure,
        host,
        is_ip,
        port,
        resource,
        host_header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let t = parse("ws://Example.COM/chat?room=1#frag").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.resource.as_str()),
            ("example.com", 80, "/chat?room=1")
        );
        assert_eq!(t.host_header, "example.com");
        assert!(!t.secure && !t.is_ip);
        let t = parse("wss://127.0.0.1:8443").unwrap();
        assert_eq!(
            (t.port, t.resource.as_str(), t.host_header.as_str()),
            (8443, "/", "127.0.0.1:8443")
        );
        assert!(t.secure && t.is_ip);
        let t = parse("ws://[::1]:9000/x").unwrap();
        assert_eq!(
            (t.host.as_str(), t.host_header.as_str()),
            ("::1", "[::1]:9000")
        );
        let t = parse("ws://user:pw@h:80/").unwrap();
        assert_eq!((t.host.as_str(), t.host_header.as_str()), ("h", "h"));
    }

    #[test]
    fn rejects_what_the_engine_rejects_and_a_missing_scheme() {
        for bad in [
            "",
            "  ",
            "http://127.0.0.1:1234/",
            "ftp://x/",
            "ws://",
            "ws://[::1",
            "ws://127.0.0.1:0/",
            "ws://127.0.0.1:99999/",
            "ws://h:port/",
            "localhost:8080",
            "/just/a/path",
        ] {
            assert!(
                matches!(parse(bad), Err(WsError::InvalidUrl(_))),
                "{bad:?} was accepted"
            );
        }
    }
}
