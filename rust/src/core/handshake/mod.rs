//! The HTTP upgrade, parsed by tungstenite and checked by the rules of RFC 6455 section 4.
//!
//! Parsing works on the connection's read buffer in place: the caller passes what has arrived,
//! and learns how many bytes the head used, so bytes that follow it are frames.

pub mod client;
pub mod server;

use tungstenite::http::HeaderMap;

/// The largest HTTP head we read before giving up (the engine allows 4 KiB; servers with
/// cookies or long headers need more).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The values of header `name`, joined with commas when it appears more than once.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Whether a comma-separated header value contains `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Splits a comma-separated list, trimming entries and dropping empty ones.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Most bytes of a handshake failure's message: it quotes header values, which the remote
/// chooses, and the message outlives the connection (`get_error_message`).
const MAX_REASON: usize = 300;

/// `why`, cut to [`MAX_REASON`] bytes at a character boundary.
fn clip(mut why: String) -> String {
    if why.len() > MAX_REASON {
        let mut at = MAX_REASON;
        while !why.is_char_boundary(at) {
            at -= 1;
        }
        why.truncate(at);
        why.push_str("...");
        why.shrink_to_fit();
    }
    why
}

/// Checks one user-supplied header line (`"Name: value"`): it must have a valid name and no line
/// breaks, which would let a value inject its own headers.
pub fn check_header_line(line: &str) -> Result<(), String> {
    if line.contains(['\r', '\n']) {
        return Err(format!("\"{}\" contains a line break", line.escape_debug()));
    }
    let Some((name, _)) = line.split_once(':') else {
        return Err(format!("\"{line}\" is not of the form \"Name: value\""));
    };
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("\"{name}\" is not a valid header name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_checked() {
        assert!(check_header_line("X-Token: abc").is_ok());
        assert!(check_header_line("Cookie: a=b; c=d").is_ok());
        assert!(check_header_line("X-Evil: a\r\nHost: b").is_err());
        assert!(check_header_line("no colon").is_err());
        assert!(check_header_line("Bad Name: x").is_err());
        assert!(check_header_line(": x").is_err());
    }

    #[test]
    fn long_reasons_are_clipped_at_a_character_boundary() {
        assert_eq!(clip("short".into()), "short");
        let long = clip("é".repeat(400));
        assert!(
            long.len() <= MAX_REASON + 3 && long.ends_with("..."),
            "{}",
            long.len()
        );
    }

    #[test]
    fn token_lists() {
        assert!(has_token("keep-alive, Upgrade", "upgrade"));
        assert!(!has_token("upgrader", "upgrade"));
        assert_eq!(list(" a, b ,,c"), vec!["a", "b", "c"]);
    }
}
