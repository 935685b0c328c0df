//! Fuzzing the network-facing core: random and mutated handshakes and frame streams fed to a
//! `Connection` in both roles, in virtual time, with every read chunked at random and the write
//! side throttled.
//!
//! Each case builds what a remote would send (a valid handshake and frame stream, then maybe
//! mutated: structural damage to frames, then bit flips, truncation, splices...), drives one
//! connection the way a `poll()` does while the "game" sends, closes, reads packets and time
//! passes, then ends the remote (EOF, silence, our close, a heartbeat) and checks:
//!
//! - no panic, and no hang (a watchdog aborts the run if a case stops making progress);
//! - the connection is CLOSED within a bounded number of steps and of virtual time;
//! - ready states only move forward; close codes reported are -1, 0 or valid wire codes;
//! - every byte we wrote is a valid request/response head followed by valid frames (masking,
//!   RSV, control sizes, close codes, UTF-8), nothing after our close frame, at most one close;
//! - the messages we wrote are a prefix of those the game sent successfully;
//! - queues stay within the configured limits, and the heap the connection holds (counted by a
//!   per-thread allocator) stays within a bound set by the limits and the bytes received;
//! - for unmutated input, the messages received are exactly the model's (up to the remote's close
//!   or the first message over the limit), and the close code is the remote's (or 1009).
//!
//! `cargo test -p godot_websocket fuzz -- --nocapture` runs the default count (both roles);
//! `FUZZ_SEED=<n>|random` and `FUZZ_CASES=<n>` (total over both roles) override it, and
//! `FUZZ_ONE=<case seed>` replays one case, printing what it does. A failure prints the case seed.
//! `FUZZ_BIG_LIMITS=1` also gives some cases `inbound_buffer_size` = 1 GiB (heap must then follow
//! the bytes received, not the lengths the remote claims).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use godot_websocket::core::config::{InboundLimits, OutboundLimits, Timeouts};
use godot_websocket::core::connection::Connection;
use godot_websocket::core::handshake::client::{ClientHandshake, ClientRequest};
use godot_websocket::core::handshake::server::{ServerConfig, ServerHandshake};
use godot_websocket::core::state::{ReadyState, Role};
use tungstenite::handshake::derive_accept_key;

// ---- heap accounting ---------------------------------------------------------------------------

/// Counts the bytes allocated minus freed on each thread, so the harness can tell how much heap
/// a call into the connection kept.
struct CountingAlloc;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn bump(n: i64) {
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

fn live() -> i64 {
    LIVE.with(Cell::get)
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            bump(layout.size() as i64);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            bump(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        bump(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            bump(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

// ---- deterministic randomness ------------------------------------------------------------------

/// SplitMix64: tiny, fast, and good enough to steer a fuzzer.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let w = self.next().to_le_bytes();
            let k = (n - out.len()).min(8);
            out.extend_from_slice(&w[..k]);
        }
        out
    }
    /// A size: mostly small, sometimes medium, rarely large.
    fn size(&mut self) -> usize {
        match self.below(100) {
            0..=59 => self.below(20),
            60..=89 => self.range(20, 300),
            90..=98 => self.range(300, 5000),
            _ => self.range(5000, 70_000),
        }
    }
}

fn mix(seed: u64, index: u64) -> u64 {
    Rng(seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03)).next()
}

// ---- frames ------------------------------------------------------------------------------------

/// How the length field is written.
#[derive(Clone, Copy, Debug)]
enum Len {
    Minimal,
    /// 126 + 16 bits even when shorter would do (non-minimal, accepted in practice).
    Wide16,
    /// 127 + 64 bits.
    Wide64,
    /// The header claims this length whatever the payload is.
    Claim(u64),
}

#[derive(Clone, Debug)]
struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    len: Len,
}

impl Frame {
    fn new(opcode: u8, fin: bool, payload: Vec<u8>, mask: Option<[u8; 4]>) -> Frame {
        Frame {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload,
            len: Len::Minimal,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
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
fn utf8_text(rng: &mut Rng, n: usize) -> Vec<u8> {
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
const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\xaf",         // overlong '/'
    b"\xed\xa0\x80",     // surrogate
    b"\xf4\x90\x80\x80", // above U+10FFFF
    b"\x80",
    b"\xe2\x82(",
];

/// What the remote sends, logically, and what a correct connection makes of it.
struct Stream {
    frames: Vec<Frame>,
    /// Complete messages a correct receiver delivers, in order.
    expected: Vec<(Vec<u8>, bool)>,
    /// How a correct receiver ends: the remote's close code (0 = empty close), 1009, or none.
    end: Option<i32>,
}

/// A valid frame stream from a remote in `remote_masks` mode.
fn gen_stream(rng: &mut Rng, remote_masks: bool, max_message: usize) -> Stream {
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
        let data = if text {
            utf8_text(rng, size)
        } else {
            rng.bytes(size)
        };
        let pieces = if rng.one_in(3) { rng.range(2, 6) } else { 1 };
        let mut cuts: Vec<usize> = (1..pieces).map(|_| rng.below(data.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(data.len());
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
            frames.push(Frame::new(op, last, data[from..to].to_vec(), key()));
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

fn rng_key() -> [u8; 4] {
    KEY_RNG.with(|c| {
        let mut r = Rng(c.get());
        let v = r.next();
        c.set(r.0);
        (v as u32).to_le_bytes()
    })
}

/// Breaks frames in ways RFC 6455 forbids (or that stress the reader). Returns what it did.
fn damage_frames(rng: &mut Rng, frames: &mut Vec<Frame>, remote_masks: bool) -> Vec<&'static str> {
    let mut done = Vec::new();
    let rounds = rng.range(1, 3);
    for _ in 0..rounds {
        if frames.is_empty() {
            frames.push(Frame::new(0x2, true, vec![], remote_masks.then(rng_key)));
        }
        let i = rng.below(frames.len());
        let what = rng.below(17);
        let f = &mut frames[i];
        match what {
            0 => {
                f.rsv = rng.range(1, 7) as u8;
                done.push("rsv bits");
            }
            1 => {
                f.opcode = *rng.pick(&[3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]);
                done.push("reserved opcode");
            }
            2 => {
                f.mask = if f.mask.is_some() {
                    None
                } else {
                    Some(rng_key())
                };
                done.push("wrong masking");
            }
            3 => {
                f.len = *rng.pick(&[Len::Wide16, Len::Wide64]);
                done.push("non-minimal length");
            }
            4 => {
                let extra = rng.below(100) as u64;
                let n = *rng.pick(&[
                    u64::MAX,
                    1 << 63,
                    (1 << 63) - 1,
                    1 << 32,
                    0xffff_ffff,
                    1 << 29,
                    10_000_000,
                    70_000,
                    65_536,
                    126,
                    f.payload.len() as u64 + 1 + extra,
                ]);
                f.len = Len::Claim(n);
                done.push("huge or wrong length");
            }
            5 => {
                f.len = Len::Claim(f.payload.len().saturating_sub(rng.range(1, 10)) as u64);
                done.push("short length");
            }
            6 => {
                let bad = rng.pick(BAD_UTF8);
                let at = rng.below(f.payload.len() + 1);
                f.payload.splice(at..at, bad.iter().copied());
                f.opcode = if f.opcode == 0 { 0 } else { 0x1 };
                done.push("invalid UTF-8");
            }
            7 => {
                // An invalid close frame.
                let payload = match rng.below(4) {
                    0 => vec![0x03],
                    1 => {
                        let c = *rng
                            .pick(&[0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]);
                        c.to_be_bytes().to_vec()
                    }
                    2 => [&1000u16.to_be_bytes()[..], *rng.pick(BAD_UTF8)].concat(),
                    _ => [&1000u16.to_be_bytes()[..], &[b'r'; 124][..]].concat(),
                };
                *f = Frame::new(0x8, true, payload, f.mask);
                done.push("bad close frame");
            }
            8 => {
                let op = *rng.pick(&[0x8u8, 0x9, 0xA]);
                let n = rng.range(126, 300);
                *f = Frame::new(op, true, rng.bytes(n), f.mask);
                if op == 0x8 {
                    f.payload[..2].copy_from_slice(&1000u16.to_be_bytes());
                }
                done.push("oversized control frame");
            }
            9 => {
                let op = *rng.pick(&[0x8u8, 0x9, 0xA]);
                *f = Frame::new(op, false, vec![], f.mask);
                done.push("fragmented control frame");
            }
            10 => {
                *f = Frame::new(0x0, rng.one_in(2), rng.bytes(5), f.mask);
                done.push("stray continuation");
            }
            11 => {
                f.fin = !f.fin;
                done.push("flipped FIN");
            }
            12 => {
                frames.remove(i);
                done.push("dropped frame");
            }
            13 => {
                let copy = f.clone();
                frames.insert(i, copy);
                done.push("duplicated frame");
            }
            14 => {
                let j = rng.below(frames.len());
                frames.swap(i, j);
                done.push("swapped frames");
            }
            15 => {
                // A flood of pings (answers must not pile up without bound).
                let n = rng.range(100, 600);
                let key = f.mask;
                for _ in 0..n {
                    frames.insert(i, Frame::new(0x9, true, vec![7; 125], key));
                }
                done.push("ping flood");
            }
            _ => {
                // Huge-claim data frame in the middle of a fragmented message.
                let key = f.mask;
                frames.insert(i, Frame::new(0x1, false, b"abc".to_vec(), key));
                let mut big = Frame::new(0x0, true, vec![], key);
                big.len = Len::Claim(1 << 40);
                frames.insert(i + 1, big);
                done.push("huge continuation");
            }
        }
    }
    done
}

/// Byte-level mutations of the whole input. Returns what it did.
fn damage_bytes(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) -> Vec<&'static str> {
    let mut done = Vec::new();
    let rounds = rng.range(1, 4);
    for _ in 0..rounds {
        let n = data.len();
        match rng.below(8) {
            0 if n > 0 => {
                for _ in 0..rng.range(1, 8) {
                    let i = rng.below(n);
                    data[i] ^= 1 << rng.below(8);
                }
                done.push("bit flips");
            }
            1 if n > 0 => {
                let i = rng.below(n);
                data[i] = *rng.pick(&[0x00, 0xff, 0x7f, 0x80, 0x7e, 0x88, 0x0d, 0x0a, b':']);
                done.push("byte set");
            }
            2 => {
                data.truncate(rng.below(n + 1));
                done.push("truncated");
            }
            3 => {
                let at = rng.below(n + 1);
                let k = rng.range(1, 40);
                let junk = rng.bytes(k);
                data.splice(at..at, junk);
                done.push("inserted bytes");
            }
            4 if n > 0 => {
                let a = rng.below(n);
                let b = (a + rng.range(1, 64)).min(n);
                data.drain(a..b);
                done.push("deleted bytes");
            }
            5 if n > 0 => {
                let a = rng.below(n);
                let b = (a + rng.range(1, 200)).min(n);
                let copy = data[a..b].to_vec();
                let at = rng.below(n + 1);
                data.splice(at..at, copy);
                done.push("duplicated range");
            }
            6 if !other.is_empty() => {
                let a = rng.below(other.len());
                let b = (a + rng.range(1, 300)).min(other.len());
                let at = rng.below(n + 1);
                data.splice(at..at, other[a..b].iter().copied());
                done.push("spliced from another stream");
            }
            _ if n > 0 => {
                let i = rng.below(n);
                data[i] = data[i].wrapping_add(rng.range(1, 255) as u8);
                done.push("byte changed");
            }
            _ => {}
        }
    }
    done
}

// ---- handshakes --------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
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

fn case_variant(rng: &mut Rng, s: &str) -> String {
    match rng.below(4) {
        0 => s.to_ascii_lowercase(),
        1 => s.to_ascii_uppercase(),
        _ => s.to_owned(),
    }
}

const PROTOCOLS: &[&str] = &["chat", "v2", "superchat", "x"];

fn some_protocols(rng: &mut Rng) -> Vec<String> {
    if rng.one_in(2) {
        return vec![];
    }
    let n = rng.range(1, 3);
    let mut out: Vec<String> = (0..n).map(|_| rng.pick(PROTOCOLS).to_string()).collect();
    out.dedup();
    out
}

/// Joins header lines into a head, shuffled a little, with CRLF (rarely bare LF).
fn head(rng: &mut Rng, first: String, mut lines: Vec<String>, clean: bool) -> Vec<u8> {
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
fn gen_request(rng: &mut Rng, offered: &[String], clean: bool) -> Vec<u8> {
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
fn gen_response(rng: &mut Rng, request: &[u8], offered: &[String], clean: bool) -> Vec<u8> {
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

// ---- the wire ----------------------------------------------------------------------------------

/// The connection's read side: bytes the remote has sent so far, given out in random chunks.
struct Wire {
    data: Vec<u8>,
    pos: usize,
    eof: bool,
    /// An error the next read returns (once).
    error: Option<ErrorKind>,
    rng: Rng,
    max_chunk: usize,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = self.error.take() {
            return Err(kind.into());
        }
        if self.pos == self.data.len() {
            return if self.eof {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        if self.rng.one_in(16) {
            return Err(ErrorKind::WouldBlock.into());
        }
        let left = self.data.len() - self.pos;
        let n = buf.len().min(left).min(self.rng.range(1, self.max_chunk));
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The connection's write side: takes at most `budget` bytes, into space reserved beforehand (so
/// writing allocates nothing the heap accounting would charge to the connection).
struct Sink {
    out: Vec<u8>,
    budget: usize,
    error: Option<ErrorKind>,
}

impl Sink {
    fn room(&self) -> usize {
        self.budget.min(self.out.capacity() - self.out.len())
    }
    /// Called outside any measured call.
    fn reserve(&mut self) {
        if self.out.capacity() - self.out.len() < 1 << 15 {
            self.out.reserve(1 << 16);
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let Some(kind) = self.error.take() {
            return Err(kind.into());
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        if self.room() == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for b in bufs {
            let k = b.len().min(self.room());
            self.out.extend_from_slice(&b[..k]);
            self.budget -= k;
            n += k;
            if k < b.len() {
                break;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---- checking what we wrote --------------------------------------------------------------------

fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What our side wrote, decoded strictly (an independent decoder, not the core's).
#[derive(Default, Debug)]
struct Written {
    messages: Vec<(Vec<u8>, bool)>,
    close: Option<Option<u16>>,
    pings: usize,
    pongs: usize,
}

/// Decodes frames written by `role`; `Err` on anything a strict remote would refuse.
fn decode_frames(role: Role, bytes: &[u8]) -> Result<Written, String> {
    let mut w = Written::default();
    let mut pos = 0;
    let mut partial: Option<(Vec<u8>, bool)> = None;
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
        if b0 & 0x70 != 0 {
            return Err("RSV bits set".into());
        }
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0xf;
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
                if fin {
                    w.messages.push(partial.take().unwrap());
                }
            }
            0x0 => {
                let Some(p) = partial.as_mut() else {
                    return Err("continuation without a message".into());
                };
                p.0.extend_from_slice(&payload);
                if fin {
                    w.messages.push(partial.take().unwrap());
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

// ---- one case ----------------------------------------------------------------------------------

/// What the game and the remote do in a case, chosen up front (the rest is steered step by step).
struct Plan {
    role: Role,
    clean: bool,
    inbound: InboundLimits,
    outbound: OutboundLimits,
    heartbeat: Option<Duration>,
    notes: Vec<&'static str>,
}

#[derive(Default, Debug)]
struct Outcome {
    opened: bool,
    remote_code: bool,
    steps: usize,
}

struct Case {
    seed: u64,
    verbose: bool,
}

fn fail(msg: String) -> ! {
    panic!("{msg}")
}

impl Case {
    fn run(&self, role: Role) -> Outcome {
        let mut rng = Rng(self.seed);
        let clean = rng.one_in(4);
        let max_message =
            *rng.pick(&[0usize, 1, 10, 125, 1000, 4096, 65535, 65535, 65535, 200_000]);
        let huge = rng.one_in(10) && big_limits();
        let inbound = InboundLimits {
            max_message: if huge { 1 << 30 } else { max_message },
            max_packets: *rng.pick(&[0usize, 1, 2, 7, 4096, 4096]),
        };
        let outbound = OutboundLimits {
            max_bytes: *rng.pick(&[None, Some(0), Some(100), Some(65535), Some(65535)]),
            max_frames: *rng.pick(&[0usize, 1, 3, 4096, 4096]),
        };
        let heartbeat = if !clean && rng.one_in(5) {
            Some(Duration::from_millis(rng.range(1, 5000) as u64))
        } else {
            None
        };
        let mut plan = Plan {
            role,
            clean,
            inbound,
            outbound,
            heartbeat,
            notes: vec![],
        };
        let t0 = Instant::now();
        let timeouts = Timeouts::default();

        // The connection and what its remote sends.
        let offered = some_protocols(&mut rng);
        let (mut conn, our_head, remote_head) = match role {
            Role::Client => {
                let request = ClientRequest {
                    host_header: "127.0.0.1:9080".into(),
                    resource: "/".into(),
                    protocols: offered.clone(),
                    headers: if rng.one_in(3) {
                        vec!["X-Token: abc".into()]
                    } else {
                        vec![]
                    },
                };
                let (hs, req) = ClientHandshake::start(&request).expect("our request is valid");
                let conn = Connection::client(hs, req.clone(), timeouts);
                let resp = gen_response(&mut rng, &req, &offered, clean);
                (conn, req, resp)
            }
            Role::Server => {
                // Clean cases: protocols the two sides agree on.
                let ours = if clean {
                    offered.clone()
                } else {
                    some_protocols(&mut rng)
                };
                let config = ServerConfig {
                    protocols: ours,
                    headers: if rng.one_in(3) {
                        vec!["X-Server: fuzz".into()]
                    } else {
                        vec![]
                    },
                    secure: rng.one_in(4),
                };
                let hs = ServerHandshake::new(config).expect("our config is valid");
                let conn = Connection::server(hs, timeouts, t0);
                let req = gen_request(&mut rng, &offered, clean);
                (conn, Vec::new(), req)
            }
        };
        let remote_masks = role == Role::Server;
        let stream = gen_stream(&mut rng, remote_masks, inbound.max_message);
        let mut frames = stream.frames;
        let mut pristine = clean;
        if !clean && rng.below(3) > 0 {
            plan.notes
                .extend(damage_frames(&mut rng, &mut frames, remote_masks));
            pristine = false;
        }
        let mut input = remote_head;
        for f in &frames {
            f.encode(&mut input);
        }
        if !clean && rng.below(3) > 0 {
            let other = gen_stream(&mut rng, !remote_masks, 100);
            let mut bytes = Vec::new();
            for f in other.frames.iter().take(4) {
                f.encode(&mut bytes);
            }
            plan.notes
                .extend(damage_bytes(&mut rng, &mut input, &bytes));
            pristine = false;
        }
        if self.verbose {
            eprintln!(
                "case {:#x} {role:?} clean={clean} pristine={pristine} inbound={inbound:?} \
                 outbound={outbound:?} heartbeat={heartbeat:?} damage={:?} input={} bytes, \
                 {} frames, expected {} messages, end {:?}",
                self.seed,
                plan.notes,
                input.len(),
                frames.len(),
                stream.expected.len(),
                stream.end
            );
        }
        let mut h = Harness {
            wire: Wire {
                data: Vec::new(),
                pos: 0,
                eof: false,
                error: None,
                rng: Rng(rng.next()),
                max_chunk: *rng.pick(&[1usize, 7, 100, 4096, 4096, 70_000, 70_000, 70_000]),
            },
            sink: Sink {
                out: Vec::new(),
                budget: if rng.one_in(3) {
                    rng.below(64)
                } else {
                    usize::MAX
                },
                error: None,
            },
            held: 0,
            peak: 0,
            state: ReadyState::Connecting,
            opened: false,
            sent_bytes: 0,
            received: Vec::new(),
            sent: Vec::new(),
            now: t0,
            t0,
            verbose: self.verbose,
            plan: &plan,
        };
        h.measured(&mut conn, |c| {
            c.set_inbound_limits(inbound);
            c.set_outbound_limits(outbound);
            c.set_heartbeat(heartbeat);
        });
        if role == Role::Client {
            let now = h.now;
            h.measured(&mut conn, |c| c.transport_ready(now));
        }

        // Script: the remote's bytes arrive in pieces while the game does things.
        let mut script_meddled = false;
        let mut script_time = Duration::ZERO;
        let mut steps = 0;
        let script_steps = rng.range(1, 40);
        while steps < 2000 && (steps < script_steps || h.wire.data.len() < input.len()) {
            steps += 1;
            match rng.below(20) {
                0..=7 => {
                    let from = h.wire.data.len();
                    let n = match rng.below(4) {
                        0 => 1,
                        1 => rng.range(1, 20),
                        2 => rng.range(1, 2000),
                        _ => input.len(),
                    };
                    let to = (from + n).min(input.len());
                    h.wire.data.extend_from_slice(&input[from..to]);
                }
                8 | 9 => h.sink.budget = h.sink.budget.saturating_add(rng.below(3000)),
                10 => h.sink.budget = if rng.one_in(2) { 0 } else { usize::MAX },
                11 | 12 => h.now += Duration::from_millis(rng.below(50) as u64),
                13 => {
                    if !clean && rng.one_in(3) {
                        h.now += Duration::from_millis(rng.range(1000, 12_000) as u64);
                        script_meddled = true;
                    }
                }
                14 | 15 => {
                    let text = rng.one_in(2);
                    let n = rng.size().min(80_000);
                    let data = if text {
                        utf8_text(&mut rng, n)
                    } else {
                        rng.bytes(n)
                    };
                    h.send(&mut conn, data, text);
                }
                16 => h.pop_all(&mut conn),
                17 if !clean => {
                    script_meddled = true;
                    let code =
                        *rng.pick(&[1000i32, 1001, 4000, 0, -1, 1005, 999, 70_000, 1015, 3000]);
                    let n = rng.below(200);
                    let reason = String::from_utf8(utf8_text(&mut rng, n)).unwrap();
                    let now = h.now;
                    h.measured(&mut conn, |c| {
                        let _ = c.close(code, &reason, now).is_ok();
                    });
                }
                18 if !clean && rng.one_in(8) => {
                    script_meddled = true;
                    if rng.one_in(2) {
                        h.wire.error =
                            Some(*rng.pick(&[ErrorKind::ConnectionReset, ErrorKind::Interrupted]));
                    } else {
                        h.sink.error =
                            Some(*rng.pick(&[ErrorKind::BrokenPipe, ErrorKind::Interrupted]));
                    }
                }
                19 if !clean && rng.one_in(4) => {
                    script_meddled = true;
                    h.wire.eof = true;
                }
                _ => {}
            }
            // Odd call orders the class might use.
            match rng.below(12) {
                0 => {
                    let now = h.now;
                    h.measured(&mut conn, |c| c.process(now));
                }
                1 => {
                    let now = h.now;
                    h.measured(&mut conn, |c| c.tick(now));
                }
                2 => {
                    h.sink.reserve();
                    let sink = &mut h.sink;
                    let _ = {
                        let before = live();
                        let r = conn.write_to(sink).is_ok();
                        h.held += live() - before;
                        r
                    };
                }
                3 => h.measured(&mut conn, |c| c.release_idle_memory()),
                _ => {}
            }
            h.poll(&mut conn);
            if conn.state() == ReadyState::Closed && h.wire.data.len() == input.len() {
                break;
            }
        }
        if h.wire.data.len() < input.len() && conn.state() != ReadyState::Closed {
            fail(format!("script did not deliver the input in {steps} steps"));
        }

        script_time = script_time.max(h.now - t0);
        // Let the connection take in what has arrived (reads may have been cut short), as the
        // game's next frames would, before the remote's end.
        for _ in 0..input.len() + 64 {
            if h.wire.pos == h.wire.data.len() || conn.state() == ReadyState::Closed {
                break;
            }
            h.pop_all(&mut conn);
            h.poll(&mut conn);
        }
        // The end: the remote stops one way or another; everything must end CLOSED.
        let ending = rng.below(5);
        let write_stuck = !clean && rng.one_in(4);
        h.sink.budget = if write_stuck { 0 } else { usize::MAX };
        match ending {
            0 => h.wire.eof = true,
            1 => {
                let now = h.now;
                h.measured(&mut conn, |c| {
                    let _ = c.close(1000, "end", now).is_ok();
                });
            }
            2 => h.measured(&mut conn, |c| {
                c.set_heartbeat(Some(Duration::from_millis(700)))
            }),
            _ => {} // silence
        }
        let mut end_steps = 0;
        while conn.state() != ReadyState::Closed {
            end_steps += 1;
            if end_steps > 200 {
                fail(format!(
                    "not CLOSED after {} s of virtual time past the script (state {:?}, ending {ending}, \
                     write stuck {write_stuck})",
                    end_steps / 2,
                    conn.state()
                ));
            }
            for _ in 0..8 {
                let before = (h.received.len(), h.wire.pos);
                h.pop_all(&mut conn);
                h.poll(&mut conn);
                if (h.received.len(), h.wire.pos) == before {
                    break;
                }
            }
            if end_steps == 20 && conn.state() == ReadyState::Open {
                // A silent remote on an open connection without a heartbeat is legitimately
                // kept forever: the game ends it.
                let now = h.now;
                h.measured(&mut conn, |c| {
                    let _ = c.close(1001, "", now).is_ok();
                });
            }
            h.now += Duration::from_millis(500);
            h.poll(&mut conn);
        }
        h.pop_all(&mut conn);
        h.measured(&mut conn, |c| c.release_idle_memory());
        h.check_closed(&conn);

        // What we wrote.
        let out = std::mem::take(&mut h.sink.out);
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
            let written = decode_frames(role, &out[at..])
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
            if self.verbose {
                eprintln!(
                    "  wrote {} messages, close {:?}, {} pings, {} pongs",
                    written.messages.len(),
                    written.close,
                    written.pings,
                    written.pongs
                );
            }
        }

        // Unmutated input: exactly what the model says.
        if pristine {
            if !h.opened_seen() {
                fail("a valid handshake was not accepted".into());
            }
            let got = &h.received;
            if got.len() > stream.expected.len() || got[..] != stream.expected[..got.len()] {
                fail(format!(
                    "received {} messages that are not a prefix of the {} sent",
                    got.len(),
                    stream.expected.len()
                ));
            }
            // Only endings that cannot cut the stream short (EOF comes after all the data;
            // silence lets it all arrive; the game's close at step 20 has not happened).
            let untouched = !script_meddled
                && script_time < Duration::from_secs(4)
                && matches!(ending, 0 | 3 | 4)
                && end_steps < 20;
            if let (Some(end), true) = (stream.end, untouched) {
                if got.len() != stream.expected.len() {
                    fail(format!(
                        "received {} of {} messages",
                        got.len(),
                        stream.expected.len()
                    ));
                }
                if conn.close_code() != end {
                    fail(format!(
                        "close code {} where the model says {end}",
                        conn.close_code()
                    ));
                }
            }
        }
        Outcome {
            opened: h.opened_seen(),
            remote_code: conn.close_code() >= 0,
            steps: steps + end_steps,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Harness<'a> {
    wire: Wire,
    sink: Sink,
    /// Heap bytes the connection holds (allocated during its calls, minus what it handed out).
    held: i64,
    peak: i64,
    state: ReadyState,
    /// The connection was seen OPEN or CLOSING.
    opened: bool,
    /// Payload bytes of the messages the game sent successfully.
    sent_bytes: usize,
    received: Vec<(Vec<u8>, bool)>,
    /// Messages the game sent successfully.
    sent: Vec<(Vec<u8>, bool)>,
    now: Instant,
    t0: Instant,
    verbose: bool,
    plan: &'a Plan,
}

impl Harness<'_> {
    fn opened_seen(&self) -> bool {
        self.opened
    }

    /// Runs `f` on the connection, charging the heap it keeps to the connection.
    fn measured<R>(&mut self, conn: &mut Connection, f: impl FnOnce(&mut Connection) -> R) -> R {
        let before = live();
        let r = f(conn);
        self.held += live() - before;
        r
    }

    fn send(&mut self, conn: &mut Connection, data: Vec<u8>, text: bool) {
        self.sink.reserve();
        let ok = self.measured(conn, |c| c.send(&data, text).is_ok());
        if ok {
            if conn.state() != ReadyState::Open {
                fail("send succeeded on a connection that is not open".into());
            }
            self.sent_bytes += data.len();
            self.sent.push((data, text));
        }
        // The class writes right after a send.
        self.flush(conn);
        self.check(conn);
    }

    fn flush(&mut self, conn: &mut Connection) {
        self.sink.reserve();
        let sink = &mut self.sink;
        let before = live();
        if conn.wants_write() {
            if let Err(e) = conn.write_to(sink) {
                conn.on_io_error(&e);
            }
        }
        self.held += live() - before;
    }

    /// What `Session::poll` does.
    fn poll(&mut self, conn: &mut Connection) {
        let now = self.now;
        if conn.state() == ReadyState::Closed {
            self.measured(conn, |c| c.tick(now));
            return self.check(conn);
        }
        self.flush(conn);
        let mut idle = true;
        for _ in 0..256 {
            if !conn.wants_read() {
                break;
            }
            let wire = &mut self.wire;
            let before = live();
            let r = conn.read_from(wire);
            match r {
                Ok(0) => {
                    conn.on_eof();
                    self.held += live() - before;
                    break;
                }
                Ok(_) => {
                    idle = false;
                    conn.process(now);
                    self.held += live() - before;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.held += live() - before;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {
                    self.held += live() - before;
                    continue;
                }
                Err(e) => {
                    conn.on_io_error(&e);
                    self.held += live() - before;
                    break;
                }
            }
            self.check(conn);
        }
        self.measured(conn, |c| {
            c.process(now);
            c.tick(now);
        });
        self.flush(conn);
        if idle {
            self.measured(conn, |c| c.release_idle_memory());
        }
        self.check(conn);
    }

    fn pop_all(&mut self, conn: &mut Connection) {
        let mut count = 0;
        let mut bytes = 0;
        while let Some(p) = conn.pop_packet() {
            // The packet's buffer leaves the connection.
            self.held -= p.data.capacity() as i64;
            count += 1;
            bytes += p.data.len();
            if p.data.len() > self.plan.inbound.max_message {
                fail(format!(
                    "a {}-byte packet over the {} limit",
                    p.data.len(),
                    self.plan.inbound.max_message
                ));
            }
            if p.text && std::str::from_utf8(&p.data).is_err() {
                fail("a text packet that is not UTF-8".into());
            }
            self.received.push((p.data, p.text));
        }
        let limit = self.plan.inbound.max_message.max(16 * 1024) + self.plan.inbound.max_message;
        if bytes > limit {
            fail(format!(
                "{count} unread packets held {bytes} bytes (limit {limit})"
            ));
        }
        self.check(conn);
    }

    /// Invariants after every call.
    fn check(&mut self, conn: &Connection) {
        let state = conn.state();
        use ReadyState::*;
        let forward = matches!(
            (self.state, state),
            (Connecting, _)
                | (Open, Open | Closing | Closed)
                | (Closing, Closing | Closed)
                | (Closed, Closed)
        );
        if !forward {
            fail(format!("state went from {:?} to {state:?}", self.state));
        }
        if self.verbose && self.state != state {
            eprintln!(
                "  {:>8.3} s: {:?} -> {state:?} (code {}, cause {:?})",
                (self.now - self.t0).as_secs_f64(),
                self.state,
                conn.close_code(),
                conn.cause().map(|c| c.to_string())
            );
        }
        self.state = state;
        self.opened |= matches!(state, Open | Closing);
        let code = conn.close_code();
        if !(code == -1 || code == 0 || u16::try_from(code).is_ok_and(valid_close_code)) {
            fail(format!("close code {code} reported"));
        }
        let plan = self.plan;
        if conn.packet_count() > plan.inbound.max_packets.max(1) {
            fail(format!(
                "{} packets queued (max_queued_packets {})",
                conn.packet_count(),
                plan.inbound.max_packets
            ));
        }
        if let Some(max) = plan.outbound.max_bytes {
            if conn.buffered_amount() > max {
                fail(format!(
                    "buffered_amount {} over outbound_buffer_size {max}",
                    conn.buffered_amount()
                ));
            }
        }
        if state == Closed
            && (conn.wants_read() || conn.wants_write() || conn.buffered_amount() != 0)
        {
            fail("CLOSED but still wants IO".into());
        }
        // Heap: read buffer (16 KiB, doubled at most once for an HTTP head), the message being
        // assembled and the inbox (twice the limit each, as Vecs grow by doubling), the outbound
        // queue (what the game may queue, plus up to 16 pongs and a head), queue slots, slack.
        let msg = plan.inbound.max_message as i64;
        let received = self.wire.pos as i64;
        let inbound = 2 * msg.min(received + 128 * 1024)
            + 2 * (msg.max(16 * 1024) + msg).min(2 * received + 32 * 1024);
        let queued = plan
            .outbound
            .max_bytes
            .unwrap_or(usize::MAX)
            .min(self.sent_bytes) as i64;
        let outbound = 2 * (queued + 16 * 1024);
        let slots = 128 * plan.inbound.max_packets.min(4096) as i64
            + 128 * plan.outbound.max_frames.min(4096) as i64;
        let bound = 64 * 1024 + inbound + outbound + slots + 16 * 1024;
        self.peak = self.peak.max(self.held);
        if self.held > bound {
            fail(format!(
                "the connection holds {} heap bytes, more than {bound} (max_message {msg}, {received} bytes received)",
                self.held
            ));
        }
    }

    fn check_closed(&mut self, conn: &Connection) {
        self.check(conn);
        // A closed connection keeps only its unread packets (none: we read them) and its
        // bookkeeping.
        if self.held > 4096 {
            fail(format!(
                "a CLOSED connection still holds {} heap bytes",
                self.held
            ));
        }
    }
}

// ---- running many cases ------------------------------------------------------------------------

const DEFAULT_CASES: u64 = 100_000;

/// `FUZZ_BIG_LIMITS=1`: some cases get `inbound_buffer_size` = 1 GiB, which checks that the heap
/// a connection takes follows the bytes received, not the lengths the remote claims.
fn big_limits() -> bool {
    std::env::var_os("FUZZ_BIG_LIMITS").is_none_or(|v| v != "0")
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else {
        v.parse().ok()
    }
}

fn base_seed() -> u64 {
    match std::env::var("FUZZ_SEED").as_deref() {
        Ok("random") => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            t.as_nanos() as u64
        }
        _ => env_u64("FUZZ_SEED").unwrap_or(0x5eed_2026),
    }
}

fn fuzz_role(role: Role, salt: u64) {
    let seed = base_seed();
    if let Some(one) = env_u64("FUZZ_ONE") {
        let out = Case {
            seed: one,
            verbose: true,
        }
        .run(role);
        eprintln!("case {one:#x} {role:?}: {out:?}");
        return;
    }
    let total = env_u64("FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let cases = total.div_ceil(2);
    eprintln!(
        "fuzz {role:?}: FUZZ_SEED={seed:#x}, {cases} cases (FUZZ_CASES={total} over both roles)"
    );

    // A watchdog: a case that stops making progress is a hang.
    let progress = Arc::new(AtomicU64::new(0));
    let current = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (progress, current, done) = (progress.clone(), current.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            let mut still = 0;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                let p = progress.load(Ordering::Relaxed);
                if p == last {
                    still += 1;
                    if still >= 80 {
                        eprintln!(
                            "HANG: fuzz {role:?} case {:#x} made no progress for 20 s; replay with FUZZ_ONE={:#x}",
                            current.load(Ordering::Relaxed),
                            current.load(Ordering::Relaxed)
                        );
                        std::process::abort();
                    }
                } else {
                    (last, still) = (p, 0);
                }
            }
        })
    };

    let started = Instant::now();
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {})); // failures are reported below, with their seed
    let mut failures: Vec<(u64, String)> = Vec::new();
    let (mut opened, mut coded, mut steps) = (0u64, 0u64, 0u64);
    for i in 0..cases {
        let case_seed = mix(seed ^ salt, i);
        current.store(case_seed, Ordering::Relaxed);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            Case {
                seed: case_seed,
                verbose: false,
            }
            .run(role)
        }));
        progress.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(out) => {
                opened += u64::from(out.opened);
                coded += u64::from(out.remote_code);
                steps += out.steps as u64;
            }
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push((case_seed, msg));
                if failures.len() >= 20 {
                    break;
                }
            }
        }
    }
    panic::set_hook(hook);
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    eprintln!(
        "fuzz {role:?}: {cases} cases in {:.1} s: {opened} opened, {coded} ended with a close code, \
         {steps} steps, {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    if !failures.is_empty() {
        for (s, msg) in &failures {
            eprintln!("FAIL {role:?} case FUZZ_ONE={s:#x}: {msg}");
        }
        panic!(
            "{} fuzz cases failed ({role:?}); replay one with FUZZ_ONE=<seed>",
            failures.len()
        );
    }
}

#[test]
fn fuzz_client_connection() {
    fuzz_role(Role::Client, 0xc11e);
}

#[test]
fn fuzz_server_connection() {
    fuzz_role(Role::Server, 0x5e7e);
}
