//! Mutators: structural damage to frames, then byte-level damage to the whole input.

use crate::frames::{rng_key, Frame, Len, BAD_UTF8};
use crate::rng::Rng;

/// Breaks frames in ways RFC 6455 forbids (or that stress the reader). Returns what it did.
pub fn damage_frames(
    rng: &mut Rng,
    frames: &mut Vec<Frame>,
    remote_masks: bool,
) -> Vec<&'static str> {
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
pub fn damage_bytes(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) -> Vec<&'static str> {
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
