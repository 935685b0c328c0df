//! Frames: what a remote sends, encoded by hand, and valid streams of them with the messages
//! a correct receiver makes of them (the model).

use std::cell::Cell;

use crate::deflate::RemoteDeflate;
use crate::rng::Rng;

/// How the length field is written.
#[derive(Clone, Copy, Debug)]
pub enum Len {
    Minimal,
    /// 126 + 16 bits even when shorter would do (non-minimal, accepted in practice).
    Wide16,
    /// 127 + 64 bits.
    Wide64,
    /// The header claims this length whatever the payload is.
    Claim(u64),
}

#[derive(Clone, Debug)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
    pub len: Len,
}

impl Frame {
    pub fn new(opcode: u8, fin: bool, payload: Vec<u8>, mask: Option<[u8; 4]>) -> Frame {
        Frame {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload,
            len: Len::Minimal,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push((u8::from(self.fin) << 7) | ((self.rsv & 7) << 4) | (self.opcode & 0xf));
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        let (n, wide) = match self.len {
            Len::Minimal => (self.payload.len() as u64, 0),
            Len::Wide16 => (self.payload.len() as u64, 16),
            Len::Wide64 => (self.payload.len() as u64, 64),
            Len::Claim(n) => (n, 0),
        };
        if wide == 64 || (wide == 16 && n > 0xffff) || (wide == 0 && n > 0xffff) {
            out.push(m | 127);
            out.extend_from_slice(&n.to_be_bytes());
        } else if wide == 16 || n >= 126 {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            out.push(m | n as u8);
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            for (i, b) in out[start..].iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
    }
}

/// Valid UTF-8 of about `n` bytes, with 1- to 4-byte characters.
pub fn utf8_text(rng: &mut Rng, n: usize) -> Vec<u8> {
    const POOL: &[&str] = &[
        "a",
        "Z",
        " ",
        "0",
        "\u{0}",
        "é",
        "ß",
        "€",
        "中",
        "😀",
        "\u{10ffff}",
    ];
    let mut s = Vec::with_capacity(n + 4);
    if n > 1000 {
        // Long texts: mostly ASCII, quickly.
        s.extend(std::iter::repeat_n(b'x', n - 8));
    }
    while s.len() < n {
        s.extend_from_slice(rng.pick(POOL).as_bytes());
    }
    s
}

/// Byte sequences that are not valid UTF-8 anywhere in a text.
pub const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\xaf",         // overlong '/'
    b"\xed\xa0\x80",     // surrogate
    b"\xf4\x90\x80\x80", // above U+10FFFF
    b"\x80",
    b"\xe2\x82(",
];

/// What the remote sends, logically, and what a correct connection makes of it.
pub struct Stream {
    pub frames: Vec<Frame>,
    /// Complete messages a correct receiver delivers, in order.
    pub expected: Vec<(Vec<u8>, bool)>,
    /// How a correct receiver ends: the remote's close code (0 = empty close), 1009, or none.
    pub end: Option<i32>,
}

/// A valid frame stream from a remote in `remote_masks` mode.
///
/// With `deflate`, most data messages are compressed (RSV1 on the first frame, the fragments cut
/// from the compressed bytes), and some are bombs: zeros that compress a thousandfold, larger
/// than `max_message` once inflated.
pub fn gen_stream(
    rng: &mut Rng,
    remote_masks: bool,
    max_message: usize,
    mut deflate: Option<&mut RemoteDeflate>,
) -> Stream {
    let key = || remote_masks.then(rng_key);
    let mut frames = Vec::new();
    let mut expected = Vec::new();
    let mut end = None;
    let messages = match rng.below(10) {
        0 => 0,
        1 => rng.range(50, 300), // many small ones: inbox backpressure
        _ => rng.range(1, 8),
    };
    let mut k = 0;
    while k < messages {
        k += 1;
        if rng.one_in(6) {
            // A control frame on its own.
            let op = if rng.one_in(2) { 0x9 } else { 0xA };
            let n = rng.below(126);
            frames.push(Frame::new(op, true, rng.bytes(n), key()));
            continue;
        }
        let text = rng.one_in(2);
        let size = if messages > 40 {
            rng.below(30)
        } else {
            rng.size()
        };
        let mut data = if text {
            utf8_text(rng, size)
        } else {
            rng.bytes(size)
        };
        let compress = deflate.is_some() && !rng.one_in(4);
        if compress && rng.one_in(8) && max_message < (8 << 20) {
            // A bomb.
            data = vec![0; (max_message + 1).max(rng.range(1, 4 << 20))];
        }
        // An empty message goes uncompressed (after another message, zlib's sync flush of no
        // input writes nothing at all).
        let compress = compress && !data.is_empty();
        let wire = match deflate.as_deref_mut() {
            Some(d) if compress => d.compress(&data),
            _ => data.clone(),
        };
        let pieces = if rng.one_in(3) { rng.range(2, 6) } else { 1 };
        let mut cuts: Vec<usize> = (1..pieces).map(|_| rng.below(wire.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(wire.len());
        let mut from = 0;
        for (i, &to) in cuts.iter().enumerate() {
            let op = if i > 0 {
                0x0
            } else if text {
                0x1
            } else {
                0x2
            };
            let last = i + 1 == cuts.len();
            let mut frame = Frame::new(op, last, wire[from..to].to_vec(), key());
            if compress && i == 0 {
                frame.rsv = 4; // RSV1
            }
            frames.push(frame);
            from = to;
            if !last && rng.one_in(3) {
                // Pings and pongs may come between fragments.
                let op = if rng.one_in(2) { 0x9 } else { 0xA };
                let n = rng.below(126);
                frames.push(Frame::new(op, true, rng.bytes(n), key()));
            }
        }
        if end.is_none() {
            if data.len() > max_message {
                end = Some(1009);
            } else {
                expected.push((data, text));
            }
        }
    }
    if !rng.one_in(5) {
        let (payload, code) = if rng.one_in(4) {
            (Vec::new(), 0)
        } else {
            let code = *rng.pick(&[
                1000u16, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4000, 4999,
            ]);
            let n = rng.below(124);
            let mut reason = utf8_text(rng, n);
            while reason.len() > 123 {
                // Cut at a character boundary.
                reason.pop();
                while std::str::from_utf8(&reason).is_err() {
                    reason.pop();
                }
            }
            ([&code.to_be_bytes()[..], &reason].concat(), i32::from(code))
        };
        frames.push(Frame::new(0x8, true, payload, key()));
        if end.is_none() {
            end = Some(code);
        }
        if rng.one_in(4) {
            // Bytes after the close frame are ignored.
            frames.push(Frame::new(0x2, true, rng.bytes(10), key()));
        }
    }
    Stream {
        frames,
        expected,
        end,
    }
}

thread_local! {
    static KEY_RNG: Cell<u64> = const { Cell::new(1) };
}

pub fn rng_key() -> [u8; 4] {
    KEY_RNG.with(|c| {
        let mut r = Rng(c.get());
        let v = r.next();
        c.set(r.0);
        (v as u32).to_le_bytes()
    })
}
