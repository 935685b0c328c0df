//! Close codes and reasons: what we may send, what we accept, and how a close payload is read.

/// Close codes (RFC 6455 section 7.4.1) that we use ourselves.
pub mod code {
    pub const NORMAL: u16 = 1000;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const INVALID_PAYLOAD: u16 = 1007;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// Longest close reason in bytes: a control frame carries at most 125 bytes, 2 of them the code.
pub const MAX_REASON_BYTES: usize = 123;

/// Whether `code` may appear in a close frame on the wire (sent or received).
///
/// 1004, 1005, 1006 and 1015 are reserved for reporting and never sent; 1016-2999 are reserved
/// for future RFCs; 3000-4999 belong to libraries and applications.
pub fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What to send for a local `close(code, reason)` with `code >= 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalClose {
    /// `code == 0`: an empty close frame (no status), as the engine sends.
    Empty,
    /// A status code and a reason of at most [`MAX_REASON_BYTES`].
    Status {
        code: u16,
        reason: String,
        truncated: bool,
    },
}

/// Checks a local close request. An invalid code is refused (the engine sends anything and its
/// peers answer 1002); a reason over 123 bytes is cut at a character boundary (the engine then
/// never sends the close frame and stays CLOSING).
pub fn local_close(code: i32, reason: &str) -> Result<LocalClose, String> {
    if code == 0 {
        return Ok(LocalClose::Empty);
    }
    let valid = u16::try_from(code).ok().filter(|&c| is_valid_wire_code(c));
    let Some(code) = valid else {
        return Err(format!(
            "close code {code} cannot be sent; use 1000-1003, 1007-1014 or 3000-4999"
        ));
    };
    let (reason, truncated) = truncate_utf8(reason, MAX_REASON_BYTES);
    Ok(LocalClose::Status {
        code,
        reason: reason.to_owned(),
        truncated,
    })
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate_utf8(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// Encodes a close frame payload.
pub fn encode_payload(close: &LocalClose) -> Vec<u8> {
    match close {
        LocalClose::Empty => Vec::new(),
        LocalClose::Status { code, reason, .. } => {
            let mut p = Vec::with_capacity(2 + reason.len());
            p.extend_from_slice(&code.to_be_bytes());
            p.extend_from_slice(reason.as_bytes());
            p
        }
    }
}

/// A close frame the remote sent, once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteClose {
    /// The status code; 0 when the frame had no payload (the engine reports 0, not 1005).
    pub code: u16,
    pub reason: String,
}

/// Why a received close payload is not acceptable, with the code to answer it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadClose {
    pub answer: u16,
    pub detail: String,
}

/// Reads a close frame payload (RFC 6455 section 5.5.1).
pub fn parse_payload(payload: &[u8]) -> Result<RemoteClose, BadClose> {
    match payload {
        [] => Ok(RemoteClose {
            code: 0,
            reason: String::new(),
        }),
        [_] => Err(BadClose {
            answer: code::PROTOCOL_ERROR,
            detail: "close frame with a 1-byte payload".into(),
        }),
        [hi, lo, reason @ ..] => {
            let status = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_wire_code(status) {
                return Err(BadClose {
                    answer: code::PROTOCOL_ERROR,
                    detail: format!("close frame with invalid code {status}"),
                });
            }
            match std::str::from_utf8(reason) {
                Ok(r) => Ok(RemoteClose {
                    code: status,
                    reason: r.to_owned(),
                }),
                Err(_) => Err(BadClose {
                    answer: code::INVALID_PAYLOAD,
                    detail: "close reason is not valid UTF-8".into(),
                }),
            }
        }
    }
}

/// The reason text we report for a close we start because of a protocol problem (the engine's words).
pub fn reason_for(code: u16) -> &'static str {
    match code {
        code::MESSAGE_TOO_BIG => "Message too big",
        code::PROTOCOL_ERROR => "Protocol error",
        code::INVALID_PAYLOAD => "Invalid frame payload data",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes_follow_rfc_6455() {
        for c in [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(is_valid_wire_code(c), "{c}");
        }
        for c in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!is_valid_wire_code(c), "{c}");
        }
    }

    #[test]
    fn local_close_refuses_invalid_codes_and_keeps_zero_as_empty() {
        assert_eq!(local_close(0, "x"), Ok(LocalClose::Empty));
        assert!(local_close(1005, "").is_err());
        assert!(local_close(70000, "").is_err());
        assert!(local_close(-5, "").is_err());
        assert_eq!(
            local_close(4001, "bye"),
            Ok(LocalClose::Status {
                code: 4001,
                reason: "bye".into(),
                truncated: false
            })
        );
    }

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        let euro = "€".repeat(42); // 126 bytes, 3 per character
        let Ok(LocalClose::Status {
            reason, truncated, ..
        }) = local_close(1000, &euro)
        else {
            panic!("expected a status close");
        };
        assert!(truncated);
        assert_eq!(reason.len(), 123);
        assert_eq!(reason, "€".repeat(41));
        let (s, cut) = truncate_utf8("aé", 2); // 'é' is 2 bytes starting at 1
        assert_eq!((s, cut), ("a", true));
    }

    #[test]
    fn close_payloads_are_parsed_and_checked() {
        assert_eq!(
            parse_payload(&[]),
            Ok(RemoteClose {
                code: 0,
                reason: String::new()
            })
        );
        assert_eq!(
            parse_payload(&[0x03]).unwrap_err().answer,
            code::PROTOCOL_ERROR
        );
        assert_eq!(
            parse_payload(&[0x0f, 0xa1, b'h', b'i']),
            Ok(RemoteClose {
                code: 4001,
                reason: "hi".into()
            })
        );
        assert_eq!(
            parse_payload(&[0x03, 0xed]).unwrap_err().answer,
            code::PROTOCOL_ERROR
        ); // 1005
        assert_eq!(
            parse_payload(&[0x03, 0xe8, 0xff]).unwrap_err().answer,
            code::INVALID_PAYLOAD
        );
        let p = encode_payload(&local_close(4001, "hi").unwrap());
        assert_eq!(p, vec![0x0f, 0xa1, b'h', b'i']);
    }
}
