//! Handshakes: the remote's upgrade request or response, valid or with one defect.

use tungstenite::handshake::derive_accept_key;

use crate::rng::Rng;

pub fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn case_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 => s.to_ascii_lowercase(),
        1 => s.to_ascii_uppercase(),
        _ => s.to_owned(),
    }
}

pub const PROTOCOLS: &[&str] = &["chat", "v2", "superchat", "x"];

pub fn some_protocols(rng: &mut Rng) -> Vec<String> {
    if rng.one_in(2) {
        return vec![];
    }
    let n = rng.range(1, 3);
    let mut out: Vec<String> = (0..n).map(|_| rng.pick(PROTOCOLS).to_string()).collect();
    out.dedup();
    out
}

/// Joins header lines into a head, shuffled a little, with CRLF (rarely bare LF).
pub fn head(rng: &mut Rng, first: String, mut lines: Vec<String>, clean: bool) -> Vec<u8> {
    if !clean || rng.one_in(3) {
        for _ in 0..rng.below(4) {
            let name = *rng.pick(&["X-Junk", "Cookie", "Origin", "User-Agent"]);
            let name = case_variant(rng, name);
            let n = rng.size().min(3000);
            lines.push(format!("{name}: {}", "v".repeat(n)));
        }
        if lines.len() > 1 {
            let i = rng.range(1, lines.len() - 1);
            let j = rng.below(lines.len());
            lines.swap(i, j);
        }
    }
    let eol = if !clean && rng.one_in(8) {
        "\n"
    } else {
        "\r\n"
    };
    let mut text = first;
    text.push_str(eol);
    for l in lines {
        text.push_str(&l);
        text.push_str(eol);
    }
    text.push_str(eol);
    text.into_bytes()
}

/// A client's upgrade request: valid when `clean`, else with one defect or oddity.
pub fn gen_request(rng: &mut Rng, offered: &[String], clean: bool) -> Vec<u8> {
    let key = b64(&rng.bytes(16));
    let target = rng.pick(&["/", "/chat?x=1", "/a/b/c", "/%00"]).to_string();
    let mut first = format!("GET {target} HTTP/1.1");
    let mut lines = vec![
        format!("{}: 127.0.0.1:9080", case_variant(rng, "Host")),
        format!(
            "{}: {}",
            case_variant(rng, "Upgrade"),
            rng.pick(&["websocket", "WebSocket"])
        ),
        format!(
            "{}: {}",
            case_variant(rng, "Connection"),
            rng.pick(&["Upgrade", "keep-alive, Upgrade", "upgrade"])
        ),
        format!("Sec-WebSocket-Key: {key}"),
        "Sec-WebSocket-Version: 13".to_string(),
    ];
    if !offered.is_empty() {
        lines.push(format!("Sec-WebSocket-Protocol: {}", offered.join(", ")));
    }
    if !clean && rng.one_in(2) {
        match rng.below(10) {
            0 => first = format!("POST {target} HTTP/1.1"),
            1 => first = format!("GET {target} HTTP/1.0"),
            2 => lines[1] = "Upgrade: h2c".into(),
            3 => lines[2] = "Connection: close".into(),
            4 => lines[3] = format!("Sec-WebSocket-Key: {}", &key[..10]),
            5 => lines[4] = "Sec-WebSocket-Version: 8".into(),
            6 => {
                let i = rng.below(lines.len());
                lines.remove(i);
            }
            7 => lines.push(format!("X-Big: {}", "a".repeat(rng.range(8000, 20000)))),
            8 => lines.push("X-Bin: \u{1}\u{7f}ÿ".into()),
            _ => lines.push("Sec-WebSocket-Protocol: , ,".into()),
        }
    }
    head(rng, first, lines, clean)
}

/// A server's answer to `request` (our client's): a valid 101 when `clean`.
pub fn gen_response(rng: &mut Rng, request: &[u8], offered: &[String], clean: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or("")
        .trim()
        .to_string();
    let mut first = "HTTP/1.1 101 Switching Protocols".to_string();
    let mut lines = vec![
        format!(
            "{}: {}",
            case_variant(rng, "Upgrade"),
            rng.pick(&["websocket", "WebSocket"])
        ),
        format!(
            "{}: {}",
            case_variant(rng, "Connection"),
            rng.pick(&["Upgrade", "keep-alive, Upgrade"])
        ),
        format!(
            "Sec-WebSocket-Accept: {}",
            derive_accept_key(key.as_bytes())
        ),
    ];
    if !offered.is_empty() {
        lines.push(format!("Sec-WebSocket-Protocol: {}", rng.pick(offered)));
    }
    if !clean && rng.one_in(2) {
        match rng.below(9) {
            0 => {
                first = format!(
                    "HTTP/1.1 {} Nope",
                    rng.pick(&[200, 400, 403, 404, 426, 500, 100, 999])
                )
            }
            1 => first = "HTTP/1.0 101 Switching Protocols".into(),
            2 => lines[0] = "Upgrade: h2c".into(),
            3 => lines[1] = "Connection: close".into(),
            4 => lines[2] = "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            5 => {
                let i = rng.below(lines.len());
                lines.remove(i);
            }
            6 => lines.push("Sec-WebSocket-Protocol: unoffered".into()),
            7 => lines.push(format!("X-Big: {}", "a".repeat(rng.range(8000, 20000)))),
            _ => first = "garbage".into(),
        }
    }
    head(rng, first, lines, clean)
}
