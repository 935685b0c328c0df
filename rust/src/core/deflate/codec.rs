//! The two halves of permessage-deflate on one connection: a compressor for what we send and
//! an inflater for what we receive (RFC 7692 section 7.2).
//!
//! Contexts are created at the first message that needs them, reset after each message where
//! the agreement says so, and can be dropped while idle when no context is carried over.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::params::{Direction, MAX_WINDOW_BITS, MIN_COMPRESS_BITS};

/// The four bytes a sync flush ends with, removed from every message we send and put back
/// before inflating the last fragment of every message we receive.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The first step of output room for a piece of input (output then doubles, up to the limit).
const INFLATE_STEP: usize = 32 * 1024;

/// Settings of our compressor, within what the remote allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateSettings {
    /// zlib level 0..=9.
    pub level: u32,
    /// Window we use when the remote allows more (9..=15).
    pub window_bits: u8,
    /// Server side: the window we ask the client to compress with, where its offer lets us
    /// (9..=15; smaller saves our inflater's memory, 15 asks nothing).
    pub receive_window_bits: u8,
}

impl Default for DeflateSettings {
    fn default() -> Self {
        DeflateSettings {
            level: 6,
            window_bits: 12,
            receive_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// Our sending half.
pub struct Deflater {
    ctx: Option<Compress>,
    level: u32,
    /// `None`: the remote allows only an 8-bit window, which zlib cannot write; messages then
    /// go out uncompressed (RSV1 = 0), which RFC 7692 section 6 allows.
    window_bits: Option<u8>,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("allocated", &self.ctx.is_some())
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish()
    }
}

impl Deflater {
    pub fn new(direction: Direction, settings: DeflateSettings) -> Self {
        let allowed = direction.max_window_bits;
        let bits = settings
            .window_bits
            .clamp(MIN_COMPRESS_BITS, MAX_WINDOW_BITS)
            .min(allowed);
        Deflater {
            ctx: None,
            level: settings.level.min(9),
            window_bits: (bits >= MIN_COMPRESS_BITS).then_some(bits),
            no_context_takeover: direction.no_context_takeover,
        }
    }

    /// Whether messages are compressed at all (see `window_bits`).
    pub fn active(&self) -> bool {
        self.window_bits.is_some()
    }

    /// Compresses one whole message into `out` (appended), without the sync-flush tail.
    /// Returns false (and leaves `out` alone) when this direction sends uncompressed.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(bits) = self.window_bits else {
            return false;
        };
        let level = self.level;
        let ctx = self.ctx.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let start = out.len();
        let mut input = payload;
        loop {
            // Room for the worst case of what is left (stored blocks) plus the flush.
            out.reserve(input.len() + input.len() / 16 + 64);
            let before = ctx.total_in();
            ctx.compress_vec(input, out, FlushCompress::Sync)
                .expect("compressing into a Vec with spare room cannot fail");
            let used = (ctx.total_in() - before) as usize;
            input = &input[used..];
            // Done when all input is in and the flush had room to finish.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        debug_assert!(out[start..].ends_with(&TAIL));
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            ctx.reset();
        }
        true
    }

    /// Drops the context if nothing is carried from one message to the next (it is made again
    /// for the next message).
    pub fn release_idle(&mut self) {
        if self.no_context_takeover {
            self.ctx = None;
        }
    }

    /// Drops the context whatever was agreed: the next message starts from an empty history.
    /// Always valid (context takeover lets the sender refer back, it never obliges it), and the
    /// compressor is the large half (about 256 KiB), so a connection that has gone quiet gives
    /// it back.
    pub fn release(&mut self) {
        self.ctx = None;
    }

    pub fn is_allocated(&self) -> bool {
        self.ctx.is_some()
    }
}

/// Why a compressed message could not be inflated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The inflated message would pass the limit; `size` is what it reached.
    TooBig { size: u64 },
    /// The bytes are not a valid deflate stream.
    Corrupt(String),
}

/// Our receiving half.
pub struct Inflater {
    ctx: Option<Decompress>,
    window_bits: u8,
    no_context_takeover: bool,
    /// The current message's deflate stream had a final block: the rest of it is ignored and
    /// the context must start again with the next message.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("allocated", &self.ctx.is_some())
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish()
    }
}

impl Inflater {
    /// An inflater for what the remote sends. A window of 8 is read with 9 (a larger window
    /// reads any smaller one; flate2 accepts 9..=15 only).
    pub fn new(direction: Direction) -> Self {
        Inflater {
            ctx: None,
            window_bits: direction
                .max_window_bits
                .clamp(MIN_COMPRESS_BITS, MAX_WINDOW_BITS),
            no_context_takeover: direction.no_context_takeover,
            ended: false,
        }
    }

    /// Inflates a piece of a message's compressed payload, appending to `out`, which must not
    /// grow past `limit` bytes. Memory stays within the limit plus one step however much the
    /// input would inflate to.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        if self.ended {
            return Ok(());
        }
        let bits = self.window_bits;
        let ctx = self
            .ctx
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        // Never allocated past one byte over the limit: filling that byte proves the message
        // is too big. zlib writes into the spare capacity only.
        let cap_limit = limit.saturating_add(1);
        let mut input = input;
        loop {
            if out.len() > limit {
                return Err(InflateError::TooBig {
                    size: out.len() as u64,
                });
            }
            if out.capacity() == out.len() {
                let want = (out.capacity() * 2)
                    .max(out.len() + (input.len() * 2).clamp(256, INFLATE_STEP))
                    .min(cap_limit);
                out.reserve_exact(want - out.len());
            }
            let in_before = ctx.total_in();
            let status = ctx
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|e| {
                    InflateError::Corrupt(e.message().unwrap_or("invalid deflate data").to_owned())
                })?;
            let used = (ctx.total_in() - in_before) as usize;
            input = &input[used..];
            if out.len() > limit {
                return Err(InflateError::TooBig {
                    size: out.len() as u64,
                });
            }
            if status == Status::StreamEnd {
                self.ended = true;
                return Ok(());
            }
            let out_full = out.len() == out.capacity();
            if !out_full && (input.is_empty() || used == 0) {
                // All input taken (or zlib wants nothing more of it) with room to spare.
                return Ok(());
            }
        }
    }

    /// The message's last fragment has been inflated: puts back the tail the sender removed,
    /// then resets the context if the agreement asks for it.
    pub fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        let result = self.inflate(&TAIL, out, limit);
        if self.no_context_takeover || self.ended {
            if let Some(ctx) = self.ctx.as_mut() {
                ctx.reset(false);
            }
            self.ended = false;
        }
        result
    }

    /// Drops the context if nothing is carried from one message to the next.
    pub fn release_idle(&mut self) {
        if self.no_context_takeover {
            self.ctx = None;
        }
    }

    pub fn is_allocated(&self) -> bool {
        self.ctx.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(no_context_takeover: bool, bits: u8) -> Direction {
        Direction {
            no_context_takeover,
            max_window_bits: bits,
        }
    }

    fn roundtrip(d: &mut Deflater, i: &mut Inflater, msg: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        assert!(d.compress(msg, &mut wire));
        let mut out = Vec::new();
        // In uneven pieces, as frames and reads cut it.
        for piece in wire.chunks(7) {
            i.inflate(piece, &mut out, 1 << 24).unwrap();
        }
        i.finish_message(&mut out, 1 << 24).unwrap();
        assert_eq!(out, msg);
        wire
    }

    #[test]
    fn rfc_7692_examples_inflate() {
        // Section 7.2.3.1: "Hello" compressed, then the same again with context takeover.
        let mut i = Inflater::new(dir(false, 15));
        let mut out = Vec::new();
        i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        out.clear();
        i.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100)
            .unwrap();
        i.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // Section 7.2.3.3: a stored (uncompressed) block.
        let mut out = Vec::new();
        let mut i = Inflater::new(dir(false, 15));
        i.inflate(
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            &mut out,
            100,
        )
        .unwrap();
        i.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // Section 7.2.3.4: a final block (BFINAL = 1), then the next message from a fresh context.
        let mut out = Vec::new();
        i.inflate(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        out.clear();
        i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn compresses_hello_as_rfc_7692_shows_and_takes_context_across_messages() {
        let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
        let mut i = Inflater::new(dir(false, 15));
        let first = roundtrip(&mut d, &mut i, b"Hello");
        assert_eq!(first, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let second = roundtrip(&mut d, &mut i, b"Hello");
        assert!(
            second.len() < first.len(),
            "the second refers back: {second:02x?}"
        );
        // Without context takeover, every message stands alone.
        let mut d = Deflater::new(dir(true, 15), DeflateSettings::default());
        let mut i = Inflater::new(dir(true, 15));
        let a = roundtrip(&mut d, &mut i, b"Hello");
        let b = roundtrip(&mut d, &mut i, b"Hello");
        assert_eq!(a, b);
        // ...and an inflater that resets cannot read a stream that refers back.
        let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
        let mut i = Inflater::new(dir(true, 15));
        roundtrip(&mut d, &mut i, b"Hello Hello Hello");
        let mut wire = Vec::new();
        d.compress(b"Hello Hello Hello", &mut wire);
        let mut out = Vec::new();
        let r = i
            .inflate(&wire, &mut out, 100)
            .and_then(|_| i.finish_message(&mut out, 100));
        assert!(r.is_err() || out != b"Hello Hello Hello");
    }

    #[test]
    fn windows_from_9_to_15_round_trip_and_8_sends_uncompressed() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|n| format!("{{\"id\":{},\"x\":{}}}", n % 700, n % 13).into_bytes())
            .collect();
        for bits in 9..=15 {
            let mut d = Deflater::new(dir(false, bits), DeflateSettings::default());
            // The receiver sized for exactly that window.
            let mut i = Inflater::new(dir(false, bits));
            for _ in 0..3 {
                let wire = roundtrip(&mut d, &mut i, &text);
                assert!(wire.len() < text.len() / 4, "{bits} bits: {}", wire.len());
            }
        }
        let mut d = Deflater::new(dir(false, 8), DeflateSettings::default());
        assert!(!d.active());
        let mut out = Vec::new();
        assert!(!d.compress(b"x", &mut out));
        assert!(out.is_empty());
        // An inflater told 8 reads with 9, which reads an 8-bit stream.
        assert_eq!(Inflater::new(dir(false, 8)).window_bits, 9);
    }

    #[test]
    fn a_bomb_stops_at_the_limit_with_bounded_memory() {
        let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
        let big = vec![0u8; 16 << 20];
        let mut wire = Vec::new();
        d.compress(&big, &mut wire);
        assert!(wire.len() < 32 * 1024, "{}", wire.len());
        let mut i = Inflater::new(dir(false, 15));
        let mut out = Vec::new();
        let limit = 100_000;
        let err = i.inflate(&wire, &mut out, limit).unwrap_err();
        assert_eq!(
            err,
            InflateError::TooBig {
                size: limit as u64 + 1
            }
        );
        assert!(
            out.capacity() <= limit + 1 + INFLATE_STEP,
            "{}",
            out.capacity()
        );
        // Exactly at the limit is fine, including when the tail finishes it.
        let msg = vec![7u8; 1000];
        let mut wire = Vec::new();
        d.compress(&msg, &mut wire);
        let mut i = Inflater::new(dir(false, 15));
        let mut d2 = Deflater::new(dir(false, 15), DeflateSettings::default());
        let mut wire2 = Vec::new();
        d2.compress(&msg, &mut wire2);
        let mut out = Vec::new();
        i.inflate(&wire2, &mut out, 1000).unwrap();
        i.finish_message(&mut out, 1000).unwrap();
        assert_eq!(out.len(), 1000);
        let mut i = Inflater::new(dir(false, 15));
        let mut out = Vec::new();
        let r = i
            .inflate(&wire2, &mut out, 999)
            .and_then(|_| i.finish_message(&mut out, 999));
        assert!(matches!(r, Err(InflateError::TooBig { .. })));
    }

    #[test]
    fn corrupt_streams_are_errors_not_panics() {
        let mut i = Inflater::new(dir(false, 15));
        let mut out = Vec::new();
        // Block type 3 is reserved.
        let r = i.inflate(&[0xff, 0xff, 0xff], &mut out, 1000);
        assert!(matches!(r, Err(InflateError::Corrupt(_))), "{r:?}");
        // A distance further back than anything written.
        let mut i = Inflater::new(dir(true, 15));
        let mut out = Vec::new();
        let r = i
            .inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 1000)
            .and_then(|_| i.finish_message(&mut out, 1000));
        assert!(matches!(r, Err(InflateError::Corrupt(_))), "{r:?} {out:?}");
    }

    #[test]
    fn contexts_are_made_lazily_and_released_when_nothing_carries_over() {
        let mut d = Deflater::new(dir(true, 15), DeflateSettings::default());
        let mut i = Inflater::new(dir(true, 15));
        assert!(!d.is_allocated() && !i.is_allocated());
        roundtrip(&mut d, &mut i, b"abc");
        assert!(d.is_allocated() && i.is_allocated());
        d.release_idle();
        i.release_idle();
        assert!(!d.is_allocated() && !i.is_allocated());
        roundtrip(&mut d, &mut i, b"abc");
        // With context takeover the inflater's context is the state: kept.
        let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
        let mut i = Inflater::new(dir(false, 15));
        roundtrip(&mut d, &mut i, b"abc abc abc");
        d.release_idle();
        i.release_idle();
        assert!(d.is_allocated() && i.is_allocated());
        roundtrip(&mut d, &mut i, b"abc abc abc");
        // The compressor may always start over: the inflater, which kept its history, reads it.
        d.release();
        assert!(!d.is_allocated());
        let fresh = roundtrip(&mut d, &mut i, b"abc abc abc");
        let referring = roundtrip(&mut d, &mut i, b"abc abc abc");
        assert!(referring.len() < fresh.len());
    }
}
