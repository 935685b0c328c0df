//! Frame encoding and masking over tungstenite's frame header codec.

use tungstenite::protocol::frame::coding::OpCode;
use tungstenite::protocol::frame::FrameHeader;

/// Largest payload of a control frame (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A fresh masking key from the thread's CSPRNG (RFC 6455 section 5.3 wants unpredictable keys).
pub fn random_mask() -> [u8; 4] {
    rand::random::<u32>().to_ne_bytes()
}

/// XORs `buf` with `mask`, where `buf` starts `offset` bytes into the frame payload (so a payload
/// can be unmasked in pieces as it arrives).
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let shift = offset % 4;
    let rotated = [
        mask[shift],
        mask[(shift + 1) % 4],
        mask[(shift + 2) % 4],
        mask[(shift + 3) % 4],
    ];
    let word = u32::from_ne_bytes(rotated);
    let mut chunks = buf.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let v = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ word;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= rotated[i];
    }
}

/// Appends one complete, final frame with `payload` to `out`, masked when `mask` is given.
pub fn encode(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) {
    encode_with_rsv1(out, opcode, payload, mask, false)
}

/// As [`encode`], with RSV1 as given (set on a permessage-deflate message).
pub fn encode_with_rsv1(
    out: &mut Vec<u8>,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    rsv1: bool,
) {
    let header = FrameHeader {
        is_final: true,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode,
        mask,
    };
    let len = payload.len() as u64;
    out.reserve(header.len(len) + payload.len());
    header
        .format(len, out)
        .expect("writing a frame header into a Vec cannot fail");
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out[start..], mask, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::coding::{Control, Data};

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut whole = data.clone();
        apply_mask(&mut whole, mask, 0);
        let mut pieces = data.clone();
        let mut off = 0;
        for len in [1, 2, 3, 7, 100, 888] {
            apply_mask(&mut pieces[off..off + len], mask, off);
            off += len;
        }
        assert_eq!(whole, pieces);
        apply_mask(&mut whole, mask, 0);
        assert_eq!(whole, data);
    }

    #[test]
    fn encodes_rfc_6455_examples() {
        // Section 5.7: an unmasked "Hello" and a masked one with key 37 fa 21 3d.
        let mut out = Vec::new();
        encode(&mut out, OpCode::Data(Data::Text), b"Hello", None);
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        encode(
            &mut out,
            OpCode::Data(Data::Text),
            b"Hello",
            Some([0x37, 0xfa, 0x21, 0x3d]),
        );
        assert_eq!(
            out,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        out.clear();
        encode(&mut out, OpCode::Data(Data::Binary), &[0u8; 256], None);
        assert_eq!(&out[..4], &[0x82, 0x7e, 0x01, 0x00]);
        out.clear();
        encode(&mut out, OpCode::Control(Control::Ping), b"", None);
        assert_eq!(out, [0x89, 0x00]);
    }
}
