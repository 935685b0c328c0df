//! permessage-deflate negotiation (RFC 7692 section 7): parsing `Sec-WebSocket-Extensions`,
//! choosing the server's answer, checking the client's.
//!
//! Pure functions over header text, so every rule is unit-tested without a connection.

use std::fmt;

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// Window sizes (log2 bytes) our compressor can use: zlib cannot write raw deflate with an
/// 8-bit window, and flate2 panics outside 9..=15.
pub const MIN_COMPRESS_BITS: u8 = 9;
/// The largest window, and the one an inflater needs when nothing smaller was agreed.
pub const MAX_WINDOW_BITS: u8 = 15;

/// What the client offers: every parameter our side honours, with no constraint on the server.
pub const CLIENT_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// One extension in a `Sec-WebSocket-Extensions` list: its name and parameters, as sent
/// (quoted values unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub params: Vec<(String, Option<String>)>,
}

/// Splits a `Sec-WebSocket-Extensions` value (RFC 6455 section 9.1: `1#extension`,
/// `extension = token *( ";" token [ "=" ( token | quoted-string ) ] )`).
pub fn parse_extensions(value: &str) -> Result<Vec<Extension>, String> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.eat(b',') {
            continue; // empty list elements are allowed (RFC 7230 section 7)
        }
        if p.at_end() {
            break;
        }
        let name = p.token().ok_or_else(|| p.error("an extension name"))?;
        let mut params = Vec::new();
        loop {
            p.skip_ws();
            if p.at_end() || p.eat(b',') {
                break;
            }
            if !p.eat(b';') {
                return Err(p.error("';' or ','"));
            }
            p.skip_ws();
            let key = p.token().ok_or_else(|| p.error("a parameter name"))?;
            p.skip_ws();
            let val = if p.eat(b'=') {
                p.skip_ws();
                let v = if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    p.token().ok_or_else(|| p.error("a parameter value"))?
                };
                Some(v)
            } else {
                None
            };
            params.push((key, val));
        }
        out.push(Extension { name, params });
    }
    if out.is_empty() {
        return Err("the extension list is empty".into());
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn quoted(&mut self) -> Result<String, String> {
        self.i += 1; // the opening quote
        let mut v = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".into()),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or("unterminated quoted string")?;
                    v.push(c);
                    self.i += 1;
                }
                Some(c) => {
                    v.push(c);
                    self.i += 1;
                }
            }
        }
        // RFC 6455 section 9.1: a quoted value must be a token once unquoted.
        if v.is_empty() || !v.iter().copied().all(is_tchar) {
            return Err(format!(
                "quoted value \"{}\" is not a token",
                String::from_utf8_lossy(&v).escape_debug()
            ));
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
    fn error(&self, wanted: &str) -> String {
        format!("expected {wanted} at byte {}", self.i)
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// The parameters in force on a connection, as the server's answer states them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// The server compresses with at most this window (8..=15; `None` = 15).
    pub server_max_window_bits: Option<u8>,
    /// The client compresses with at most this window (8..=15; `None` = 15).
    pub client_max_window_bits: Option<u8>,
}

/// One direction's parameters, seen from one end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Direction {
    /// Reset the context after every message.
    pub no_context_takeover: bool,
    /// Largest window the sender may use.
    pub max_window_bits: u8,
}

impl Agreement {
    /// (what we send, what we receive), for the end playing `server` or not.
    pub fn directions(&self, server: bool) -> (Direction, Direction) {
        let s = Direction {
            no_context_takeover: self.server_no_context_takeover,
            max_window_bits: self.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        };
        let c = Direction {
            no_context_takeover: self.client_no_context_takeover,
            max_window_bits: self.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        };
        if server {
            (s, c)
        } else {
            (c, s)
        }
    }
}

impl fmt::Display for Agreement {
    /// The extension as a `Sec-WebSocket-Extensions` value (the server's answer).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={bits}")?;
        }
        if let Some(bits) = self.client_max_window_bits {
            write!(f, "; client_max_window_bits={bits}")?;
        }
        Ok(())
    }
}

/// A window size: a decimal 8..=15 without leading zeros (RFC 7692 sections 7.1.2.1, 7.1.2.2).
fn window_bits(name: &str, value: &str) -> Result<u8, String> {
    match value.parse::<u8>() {
        Ok(n @ 8..=15) if !value.starts_with('0') && !value.starts_with('+') => Ok(n),
        _ => Err(format!("{name}={value} is not a window size from 8 to 15")),
    }
}

/// An offer's or answer's parameters, checked for names, duplicates and values.
#[derive(Debug, Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// Present, with its value if it had one.
    client_max_window_bits: Option<Option<u8>>,
}

fn read_params(ext: &Extension) -> Result<Params, String> {
    let mut p = Params::default();
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in &ext.params {
        let key_l = key.to_ascii_lowercase();
        if seen.contains(&key_l) {
            return Err(format!("parameter {key} appears twice"));
        }
        seen.push(key_l.clone());
        let no_value = |name: &str| match value {
            None => Ok(true),
            Some(v) => Err(format!("{name} takes no value (got \"{v}\")")),
        };
        match key_l.as_str() {
            "server_no_context_takeover" => p.server_no_context_takeover = no_value(key)?,
            "client_no_context_takeover" => p.client_no_context_takeover = no_value(key)?,
            "server_max_window_bits" => {
                let v = value.as_deref().ok_or(format!("{key} needs a value"))?;
                p.server_max_window_bits = Some(window_bits(key, v)?);
            }
            "client_max_window_bits" => {
                p.client_max_window_bits = Some(match value {
                    None => None,
                    Some(v) => Some(window_bits(key, v)?),
                });
            }
            _ => return Err(format!("unknown parameter {key}")),
        }
    }
    Ok(p)
}

/// Server side: the first permessage-deflate offer in the client's list that we can honour
/// (RFC 7692 section 5), as the agreement to answer with. `None` when there is none: the
/// connection then goes on without compression, which is not an error.
///
/// `inbound_bits` is the window we would like the client to use (it saves our inflater's
/// memory); it is asked for only where the client's offer allows it.
pub fn accept_offer(header_value: &str, inbound_bits: u8) -> Option<Agreement> {
    let offers = parse_extensions(header_value).ok()?;
    offers
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .find_map(|offer| {
            let p = read_params(offer).ok()?;
            // We compress with the window the client allows; 8 is beyond zlib, so decline.
            if p.server_max_window_bits
                .is_some_and(|b| b < MIN_COMPRESS_BITS)
            {
                return None;
            }
            let client_max_window_bits = match p.client_max_window_bits {
                None => None,
                Some(offered) => {
                    let want = inbound_bits.clamp(MIN_COMPRESS_BITS, MAX_WINDOW_BITS);
                    let bits = offered.map_or(want, |o| o.min(want));
                    (bits < MAX_WINDOW_BITS || offered.is_some()).then_some(bits)
                }
            };
            Some(Agreement {
                server_no_context_takeover: p.server_no_context_takeover,
                client_no_context_takeover: p.client_no_context_takeover,
                server_max_window_bits: p.server_max_window_bits,
                client_max_window_bits,
            })
        })
}

/// Client side: checks the server's `Sec-WebSocket-Extensions` answer. `offered` says whether
/// we offered permessage-deflate ([`CLIENT_OFFER`]); anything we did not offer fails the
/// handshake, with the reason.
pub fn check_answer(header_value: &str, offered: bool) -> Result<Agreement, String> {
    let list = parse_extensions(header_value)
        .map_err(|e| format!("malformed Sec-WebSocket-Extensions \"{header_value}\": {e}"))?;
    if !offered {
        return Err(format!(
            "server chose extension \"{}\", but none was offered",
            list[0].name
        ));
    }
    if let Some(other) = list.iter().find(|e| !e.name.eq_ignore_ascii_case(NAME)) {
        return Err(format!(
            "server chose extension \"{}\", which was not offered",
            other.name
        ));
    }
    if list.len() > 1 {
        return Err(format!("server answered {NAME} {} times", list.len()));
    }
    let p = read_params(&list[0]).map_err(|e| format!("server's {NAME} answer is invalid: {e}"))?;
    let client_max_window_bits = match p.client_max_window_bits {
        None => None,
        Some(Some(bits)) => Some(bits),
        Some(None) => {
            return Err(format!(
                "server's {NAME} answer is invalid: client_max_window_bits needs a value"
            ))
        }
    };
    Ok(Agreement {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: p.server_max_window_bits,
        client_max_window_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: name.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_owned)))
                .collect(),
        }
    }

    #[test]
    fn parses_lists_parameters_and_quoted_values() {
        let got = parse_extensions(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\" , x-foo,,\
             permessage-deflate;server_no_context_takeover",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                ext(
                    NAME,
                    &[
                        ("client_max_window_bits", None),
                        ("server_max_window_bits", Some("10"))
                    ]
                ),
                ext("x-foo", &[]),
                ext(NAME, &[("server_no_context_takeover", None)]),
            ]
        );
        assert_eq!(
            parse_extensions("a; b=\"c\\d\"").unwrap(),
            vec![ext("a", &[("b", Some("cd"))])]
        );
        for bad in [
            "",
            " , ",
            "a; ",
            "a b",
            "a; b=",
            "a; b=\"unterminated",
            "a; b=\"two words\"",
            "a; b=\"\"",
            ";b",
            "a;b=c d",
        ] {
            assert!(parse_extensions(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn server_accepts_the_first_offer_it_can_honour() {
        let a = accept_offer("permessage-deflate", 15).unwrap();
        assert_eq!(a, Agreement::default());
        assert_eq!(a.to_string(), "permessage-deflate");
        // Autobahn 13.7: three offers, the first asking for a 9-bit window.
        let a = accept_offer(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9, \
             permessage-deflate; server_no_context_takeover, permessage-deflate",
            15,
        )
        .unwrap();
        assert_eq!(
            a.to_string(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
        );
        // 8 is beyond zlib's raw deflate: that offer is declined, the next one taken.
        let a = accept_offer(
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_no_context_takeover",
            15,
        )
        .unwrap();
        assert_eq!(
            a.to_string(),
            "permessage-deflate; client_no_context_takeover"
        );
        assert_eq!(
            accept_offer("permessage-deflate; server_max_window_bits=8", 15),
            None
        );
        // Invalid offers are declined, not errors.
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=09",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "x-webkit-deflate-frame",
            "permessage-deflate; a=\"",
        ] {
            assert_eq!(accept_offer(bad, 15), None, "{bad}");
        }
    }

    #[test]
    fn server_asks_for_a_smaller_client_window_only_where_offered() {
        // The client allows a value: we ask for ours.
        let a = accept_offer("permessage-deflate; client_max_window_bits", 12).unwrap();
        assert_eq!(a.client_max_window_bits, Some(12));
        assert_eq!(
            accept_offer("permessage-deflate; client_max_window_bits", 15)
                .unwrap()
                .client_max_window_bits,
            None
        );
        // The client names its own limit: the smaller one, stated.
        let a = accept_offer("permessage-deflate; client_max_window_bits=10", 12).unwrap();
        assert_eq!(a.client_max_window_bits, Some(10));
        let a = accept_offer("permessage-deflate; client_max_window_bits=8", 15).unwrap();
        assert_eq!(a.client_max_window_bits, Some(8));
        // Not offered: never answered (the client would have to fail).
        assert_eq!(
            accept_offer("permessage-deflate", 9)
                .unwrap()
                .client_max_window_bits,
            None
        );
    }

    #[test]
    fn client_checks_the_answer() {
        let a = check_answer(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=\"9\"",
            true,
        )
        .unwrap();
        assert_eq!(
            a,
            Agreement {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(9),
            }
        );
        assert_eq!(
            a.directions(false).0,
            Direction {
                no_context_takeover: true,
                max_window_bits: 9
            }
        );
        assert_eq!(
            a.directions(true).0,
            Direction {
                no_context_takeover: true,
                max_window_bits: 10
            }
        );
        let cases = [
            ("permessage-deflate", false, "none was offered"),
            ("x-foo", true, "not offered"),
            ("permessage-deflate, x-foo", true, "not offered"),
            ("permessage-deflate, permessage-deflate", true, "2 times"),
            (
                "permessage-deflate; client_max_window_bits",
                true,
                "needs a value",
            ),
            (
                "permessage-deflate; server_max_window_bits=20",
                true,
                "8 to 15",
            ),
            ("permessage-deflate; mystery", true, "unknown parameter"),
            (
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                true,
                "twice",
            ),
            ("permessage-deflate; =", true, "malformed"),
        ];
        for (answer, offered, why) in cases {
            match check_answer(answer, offered) {
                Err(msg) => assert!(msg.contains(why), "{answer}: {msg} lacks {why}"),
                Ok(a) => panic!("{answer} accepted as {a:?}"),
            }
        }
    }
}
