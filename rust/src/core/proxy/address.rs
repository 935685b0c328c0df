//! Where a proxy is and who we are to it: the `[user:password@]host` argument of the setters and
//! the `http://[user:password@]host[:port]` values of the environment variables.

use std::fmt;
use std::net::Ipv6Addr;

use percent_encoding::percent_decode_str;

use crate::core::error::WsError;

/// An HTTP proxy to reach the target through, with `CONNECT`.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Host name or IP literal (IPv6 without brackets), as given: resolved when connecting.
    pub host: String,
    pub port: u16,
    /// Sent as `Proxy-Authorization: Basic ...` when present.
    pub credentials: Option<Credentials>,
}

/// A user name and password, percent-decoded. Never printed: `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: Vec<u8>,
    pub password: Vec<u8>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials({:?}, <password>)",
            String::from_utf8_lossy(&self.user)
        )
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = if self.credentials.is_some() {
            " (with credentials)"
        } else {
            ""
        };
        write!(f, "Proxy({self}{auth})")
    }
}

/// `host:port`, IPv6 in brackets; never the credentials (this is what messages show).
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn invalid(why: impl Into<String>) -> WsError {
    WsError::InvalidArgument(why.into())
}

/// A line break anywhere would let the argument write its own header lines; refuse it before
/// anything else looks at the text (and never echo the text: it may hold a password).
fn refuse_line_breaks(what: &str, text: &str) -> Result<(), WsError> {
    if text.contains(['\r', '\n']) {
        return Err(invalid(format!("{what} contains a line break (CR or LF)")));
    }
    Ok(())
}

impl Proxy {
    /// The arguments of `set_http_proxy(host, port)` / `set_https_proxy(host, port)`. An empty
    /// host or port -1 clears the setting (`Ok(None)`), as in the engine's `HTTPClient`. `host`
    /// may carry `user:password@` in front, percent-encoded or not (`%40` for `@`, `%3A` for `:`;
    /// the last `@` ends the credentials and the first `:` ends the user name).
    pub fn from_setter(host: &str, port: i64) -> Result<Option<Proxy>, WsError> {
        refuse_line_breaks("the proxy host", host)?;
        if host.is_empty() || port == -1 {
            return Ok(None);
        }
        let port = u16::try_from(port)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| {
                invalid(format!(
                    "proxy port {port} is not in 1..65535 (or -1 to clear)"
                ))
            })?;
        let (credentials, host) = match host.rsplit_once('@') {
            Some((userinfo, host)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (Some(Credentials::decode(user, password)?), host)
            }
            None => (None, host),
        };
        Ok(Some(Proxy {
            host: parse_host(host)?,
            port,
            credentials,
        }))
    }

    /// A proxy URL as environment variables carry it: `http://user:password@host:port/`, or
    /// without the scheme (`host:port`). Only `http://` proxies exist here (the tunnel to the
    /// proxy itself is plain TCP); the port defaults to 80.
    pub fn from_url(value: &str) -> Result<Proxy, WsError> {
        refuse_line_breaks("the proxy URL", value)?;
        let value = value.trim();
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| invalid(format!("proxy URL \"{}\": {e}", redact(value))))?;
        if url.scheme() != "http" {
            return Err(invalid(format!(
                "proxy URL \"{}\": only http:// proxies are supported, not {}://",
                redact(value),
                url.scheme()
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => {
                return Err(invalid(format!(
                    "proxy URL \"{}\" has no host",
                    redact(value)
                )))
            }
        };
        let port = url.port_or_known_default().unwrap_or(80);
        if port == 0 {
            return Err(invalid(format!("proxy URL \"{}\": port 0", redact(value))));
        }
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some(Credentials::decode(
                url.username(),
                url.password().unwrap_or(""),
            )?)
        };
        Ok(Proxy {
            host,
            port,
            credentials,
        })
    }
}

impl Credentials {
    /// Percent-decodes both parts. The decoded text may not hold a line break (nothing a proxy
    /// accepts has one), and the user name no `:` (Basic authentication could not carry it).
    fn decode(user: &str, password: &str) -> Result<Credentials, WsError> {
        let user: Vec<u8> = percent_decode_str(user).collect();
        let password: Vec<u8> = percent_decode_str(password).collect();
        if user
            .iter()
            .chain(&password)
            .any(|b| matches!(b, b'\r' | b'\n' | 0))
        {
            return Err(invalid(
                "the proxy credentials contain a line break or NUL (after percent-decoding)",
            ));
        }
        if user.contains(&b':') {
            return Err(invalid(
                "the proxy user name contains ':' (Basic authentication cannot send it)",
            ));
        }
        Ok(Credentials { user, password })
    }

    /// The value of `Proxy-Authorization` (RFC 7617).
    pub fn header_value(&self) -> String {
        let mut pair = self.user.clone();
        pair.push(b':');
        pair.extend_from_slice(&self.password);
        format!("Basic {}", super::base64::encode(&pair))
    }
}

/// A host name, IPv4 address or IPv6 address (with or without brackets), checked the way URL
/// hosts are; names are lower-cased (and IDNA-encoded), as in URLs.
fn parse_host(host: &str) -> Result<String, WsError> {
    let bad = |why: &str| invalid(format!("proxy host \"{}\": {why}", host.escape_debug()));
    if host.is_empty() {
        return Err(bad("no host name after the credentials"));
    }
    let unbracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Ok(v6) = unbracketed.unwrap_or(host).parse::<Ipv6Addr>() {
        return Ok(v6.to_string());
    }
    if host.contains(':') {
        return Err(bad("give the port as the second argument, not after a ':'"));
    }
    match url::Host::parse(host) {
        Ok(url::Host::Domain(d)) => Ok(d),
        Ok(url::Host::Ipv4(a)) => Ok(a.to_string()),
        Ok(url::Host::Ipv6(a)) => Ok(a.to_string()),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// A proxy URL for a message, with any password replaced by `***`. The credentials end at the
/// last `@` and the user name at the first `:` (a password may hold both).
fn redact(value: &str) -> String {
    let Some((before, host)) = value.rsplit_once('@') else {
        return value.to_owned();
    };
    let (scheme, userinfo) = match before.split_once("://") {
        Some((scheme, userinfo)) => (&before[..scheme.len() + 3], userinfo),
        None => ("", before),
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}{user}:***@{host}"),
        None => format!("{before}@{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_show_a_password() {
        for (url, shown) in [
            ("http://alice:se:cret@p:443", "http://alice:***@p:443"),
            ("http://alice:p@ss@p:3128", "http://alice:***@p:3128"),
            ("alice:secret@p", "alice:***@p"),
            ("http://alice@p", "http://alice@p"),
            ("http://p:3128", "http://p:3128"),
        ] {
            assert_eq!(redact(url), shown);
        }
    }

    fn creds(user: &str, password: &str) -> Option<Credentials> {
        Some(Credentials {
            user: user.into(),
            password: password.into(),
        })
    }

    #[test]
    fn setter_takes_a_host_and_a_port_and_clears_with_empty_or_minus_one() {
        let p = Proxy::from_setter("Proxy.Example", 3128).unwrap().unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, &p.credentials),
            ("proxy.example", 3128, &None)
        );
        assert_eq!(p.to_string(), "proxy.example:3128");
        let p = Proxy::from_setter("[::1]", 8080).unwrap().unwrap();
        assert_eq!(
            (p.host.as_str(), p.to_string()),
            ("::1", "[::1]:8080".to_owned())
        );
        assert_eq!(
            Proxy::from_setter("::1", 8080).unwrap().unwrap().host,
            "::1"
        );
        assert_eq!(
            Proxy::from_setter("10.0.0.1", 1).unwrap().unwrap().host,
            "10.0.0.1"
        );
        assert_eq!(Proxy::from_setter("", 3128).unwrap(), None);
        assert_eq!(Proxy::from_setter("proxy", -1).unwrap(), None);
    }

    #[test]
    fn setter_refuses_bad_ports_and_hosts() {
        for port in [0, -2, 65536, i64::MAX] {
            assert!(Proxy::from_setter("proxy", port).is_err(), "{port}");
        }
        for host in [
            "proxy:3128",
            "http://proxy",
            "a b",
            "user@",
            "pro/xy",
            "[::1",
        ] {
            assert!(
                matches!(
                    Proxy::from_setter(host, 80),
                    Err(WsError::InvalidArgument(_))
                ),
                "{host:?}"
            );
        }
    }

    #[test]
    fn credentials_are_split_at_the_last_at_and_the_first_colon_and_percent_decoded() {
        let p = Proxy::from_setter("alice:s3cret@proxy", 80)
            .unwrap()
            .unwrap();
        assert_eq!(p.credentials, creds("alice", "s3cret"));
        assert_eq!(p.host, "proxy");
        // Reserved characters, encoded or not, in either part.
        let p = Proxy::from_setter("a%40b:p%40ss%3Aw%2Frd%25@proxy", 80)
            .unwrap()
            .unwrap();
        assert_eq!(p.credentials, creds("a@b", "p@ss:w/rd%"));
        let p = Proxy::from_setter("bob:p@ss:w/rd@127.0.0.1", 80)
            .unwrap()
            .unwrap();
        assert_eq!(p.credentials, creds("bob", "p@ss:w/rd"));
        assert_eq!(p.host, "127.0.0.1");
        let p = Proxy::from_setter("bob@proxy", 80).unwrap().unwrap();
        assert_eq!(p.credentials, creds("bob", ""));
        let p = Proxy::from_setter("b%C3%B6b:%E2%82%AC@proxy", 80)
            .unwrap()
            .unwrap();
        assert_eq!(p.credentials, creds("böb", "€"));
    }

    #[test]
    fn line_breaks_are_refused_raw_or_encoded_and_never_echoed() {
        for host in [
            "proxy\r\nX-Evil: 1",
            "user:pass\n@proxy",
            "user:pa%0D%0Ass@proxy",
            "us%0aer:pass@proxy",
            "user:pa%00ss@proxy",
        ] {
            match Proxy::from_setter(host, 80) {
                Err(WsError::InvalidArgument(why)) => {
                    assert!(!why.contains("pa") && !why.contains("Evil"), "{why}")
                }
                other => panic!("{host:?}: {other:?}"),
            }
        }
        // Even when the port alone would clear the setting.
        assert!(Proxy::from_setter("proxy\n", -1).is_err());
        assert!(Proxy::from_url("http://proxy:80/\r\n").is_err());
        assert!(Proxy::from_setter("a%3Ab:pass@proxy", 80).is_err());
    }

    #[test]
    fn urls_from_the_environment() {
        let p = Proxy::from_url("http://alice:p%40ss%3Aword@proxy.example:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 3128));
        assert_eq!(p.credentials, creds("alice", "p@ss:word"));
        let p = Proxy::from_url("proxy.example:8080").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, &p.credentials),
            ("proxy.example", 8080, &None)
        );
        assert_eq!(Proxy::from_url("http://proxy.example").unwrap().port, 80);
        assert_eq!(Proxy::from_url(" http://[::1]:3128 ").unwrap().host, "::1");
        for bad in [
            "socks5://proxy:1080",
            "https://proxy:443",
            "http://",
            "http://proxy:0",
        ] {
            assert!(Proxy::from_url(bad).is_err(), "{bad}");
        }
        match Proxy::from_url("socks5://u:topsecret@proxy:1080") {
            Err(WsError::InvalidArgument(why)) => assert!(!why.contains("topsecret"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn basic_credentials_header_and_hidden_password() {
        let p = Proxy::from_setter("Aladdin:open%20sesame@proxy", 80)
            .unwrap()
            .unwrap();
        let c = p.credentials.as_ref().unwrap();
        assert_eq!(c.header_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let shown = format!("{p:?} {p} {c:?}");
        assert!(!shown.contains("sesame"), "{shown}");
    }
}
