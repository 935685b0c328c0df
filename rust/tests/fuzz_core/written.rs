//! Checking what we wrote: an independent, strict frame decoder (not the core's) and the
//! checks on our side's output.

use godot_websocket::core::state::Role;

use crate::case::fail;
use crate::harness::Harness;

pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What our side wrote, decoded strictly (an independent decoder, not the core's).
#[derive(Default, Debug)]
pub struct Written {
    pub messages: Vec<(Vec<u8>, bool)>,
    pub close: Option<Option<u16>>,
    pub pings: usize,
    pub pongs: usize,
}

/// Decodes frames written by `role`; `Err` on anything a strict remote would refuse. With
/// `compressed` (permessage-deflate negotiated), a message whose first frame has RSV1 is
/// inflated.
pub fn decode_frames(role: Role, bytes: &[u8], compressed: bool) -> Result<Written, String> {
    let mut w = Written::default();
    let mut pos = 0;
    let mut partial: Option<(Vec<u8>, bool)> = None;
    let mut partial_compressed = false;
    let mut inflater = flate2::Decompress::new_with_window_bits(false, 15);
    while pos < bytes.len() {
        if w.close.is_some() {
            return Err(format!("{} bytes after our close frame", bytes.len() - pos));
        }
        let rest = &bytes[pos..];
        if rest.len() < 2 {
            break; // cut off when the connection ended
        }
        let (b0, b1) = (rest[0], rest[1]);
        let mut at = 2;
        let mut len = u64::from(b1 & 0x7f);
        if len == 126 {
            if rest.len() < 4 {
                break;
            }
            len = u64::from(u16::from_be_bytes([rest[2], rest[3]]));
            if len < 126 {
                return Err("non-minimal 16-bit length".into());
            }
            at = 4;
        } else if len == 127 {
            if rest.len() < 10 {
                break;
            }
            len = u64::from_be_bytes(rest[2..10].try_into().unwrap());
            if len <= 0xffff || len >> 63 != 0 {
                return Err(format!("bad 64-bit length {len}"));
            }
            at = 10;
        }
        let masked = b1 & 0x80 != 0;
        if masked != (role == Role::Client) {
            return Err(format!("{role:?} wrote a frame with mask bit {masked}"));
        }
        let mut key = [0; 4];
        if masked {
            if rest.len() < at + 4 {
                break;
            }
            key.copy_from_slice(&rest[at..at + 4]);
            at += 4;
        }
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0xf;
        let rsv1 = b0 & 0x40 != 0;
        if b0 & 0x30 != 0 {
            return Err("RSV2 or RSV3 set".into());
        }
        if rsv1 && !(compressed && matches!(opcode, 0x1 | 0x2)) {
            return Err(format!(
                "RSV1 on opcode {opcode:#x} (compression negotiated: {compressed})"
            ));
        }
        if ((rest.len() - at) as u64) < len {
            break;
        }
        let mut payload = rest[at..at + len as usize].to_vec();
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        pos += at + len as usize;
        match opcode {
            0x8 | 0x9 | 0xA => {
                if !fin || len > 125 {
                    return Err(format!("control frame {opcode:#x} fin={fin} len={len}"));
                }
                match opcode {
                    0x9 => w.pings += 1,
                    0xA => w.pongs += 1,
                    _ => {
                        let code = match payload.len() {
                            0 => None,
                            1 => return Err("close frame with a 1-byte payload".into()),
                            _ => {
                                let c = u16::from_be_bytes([payload[0], payload[1]]);
                                if !valid_close_code(c) {
                                    return Err(format!("close frame with invalid code {c}"));
                                }
                                if std::str::from_utf8(&payload[2..]).is_err() {
                                    return Err("close reason not UTF-8".into());
                                }
                                Some(c)
                            }
                        };
                        w.close = Some(code);
                    }
                }
            }
            0x1 | 0x2 => {
                if partial.is_some() {
                    return Err("new message inside a fragmented one".into());
                }
                partial = Some((payload, opcode == 0x1));
                partial_compressed = rsv1;
                if fin {
                    let mut m = partial.take().unwrap();
                    if partial_compressed {
                        m.0 = crate::deflate::inflate(&mut inflater, &m.0)?;
                    }
                    w.messages.push(m);
                }
            }
            0x0 => {
                let Some(p) = partial.as_mut() else {
                    return Err("continuation without a message".into());
                };
                p.0.extend_from_slice(&payload);
                if fin {
                    let mut m = partial.take().unwrap();
                    if partial_compressed {
                        m.0 = crate::deflate::inflate(&mut inflater, &m.0)?;
                    }
                    w.messages.push(m);
                }
            }
            op => return Err(format!("reserved opcode {op:#x}")),
        }
    }
    for (data, text) in &w.messages {
        if *text && std::str::from_utf8(data).is_err() {
            return Err("text message not UTF-8".into());
        }
    }
    Ok(w)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Checks the bytes our side wrote: the client's request or the server's answer, then a valid
/// frame stream whose messages are a prefix of those the game sent.
pub fn check_output(
    role: Role,
    our_head: &[u8],
    out: &[u8],
    h: &Harness,
    compressed: bool,
    verbose: bool,
) {
    let frames_at = match role {
        Role::Client => {
            let n = our_head.len().min(out.len());
            if out[..n] != our_head[..n] {
                fail("the client wrote something else than its request".into());
            }
            if out.len() < our_head.len() {
                None
            } else {
                Some(our_head.len())
            }
        }
        Role::Server => match find(&out, b"\r\n\r\n") {
            None => {
                let n = out.len().min(9);
                if out[..n] != b"HTTP/1.1 "[..n] {
                    fail(format!(
                        "the server wrote {:?}",
                        String::from_utf8_lossy(&out[..out.len().min(40)])
                    ));
                }
                if h.opened_seen() && out.len() > 1000 {
                    fail("the server opened but wrote no complete response head".into());
                }
                None
            }
            Some(end) => {
                let head = String::from_utf8_lossy(&out[..end]).to_string();
                if head.starts_with("HTTP/1.1 101 ") {
                    if !h.opened_seen() {
                        fail("101 written but the connection never opened".into());
                    }
                    Some(end + 4)
                } else if ["400", "426", "431"]
                    .iter()
                    .any(|s| head.starts_with(&format!("HTTP/1.1 {s} ")))
                {
                    if h.opened_seen() {
                        fail("refused with an HTTP error but the connection opened".into());
                    }
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or_else(|| fail(format!("no Content-Length in {head:?}")));
                    if out.len() > end + 4 + len {
                        fail("bytes after the HTTP error answer".into());
                    }
                    None
                } else {
                    fail(format!("the server answered {head:?}"))
                }
            }
        },
    };
    if let Some(at) = frames_at {
        let written = decode_frames(role, &out[at..], compressed)
            .unwrap_or_else(|e| fail(format!("we wrote an invalid frame stream: {e}")));
        if written.messages.len() > h.sent.len()
            || written.messages[..] != h.sent[..written.messages.len()]
        {
            fail(format!(
                "messages written ({}) are not a prefix of those sent ({})",
                written.messages.len(),
                h.sent.len()
            ));
        }
        if verbose {
            eprintln!(
                "  wrote {} messages, close {:?}, {} pings, {} pongs",
                written.messages.len(),
                written.close,
                written.pings,
                written.pongs
            );
        }
    }
}
