//! permessage-deflate for the property test: the parameters a remote offers or answers, and its
//! compressor, written with flate2 directly (independent of the core's codec). Our output is
//! inflated the same way by the strict decoder.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use crate::rng::Rng;

/// The remote's side of a compressed connection.
pub struct RemoteDeflate {
    /// The `Sec-WebSocket-Extensions` value the remote sends (offer or answer).
    pub header: String,
    compressor: Compress,
    /// Reset after every message (it agreed or promised no context takeover, or just does).
    reset: bool,
}

impl RemoteDeflate {
    /// A remote server's answer to our client's offer (`permessage-deflate;
    /// client_max_window_bits`), with a random choice of the four parameters.
    pub fn server_answer(rng: &mut Rng) -> RemoteDeflate {
        let mut header = String::from("permessage-deflate");
        let snct = rng.one_in(3);
        if snct {
            header.push_str("; server_no_context_takeover");
        }
        if rng.one_in(3) {
            header.push_str("; client_no_context_takeover");
        }
        let mut bits = 15;
        if rng.one_in(3) {
            bits = rng.range(9, 15) as u8;
            header.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if rng.one_in(3) {
            // 8 included: we then send uncompressed.
            header.push_str(&format!("; client_max_window_bits={}", rng.range(8, 15)));
        }
        RemoteDeflate::new(header, bits, snct || rng.one_in(4))
    }

    /// A remote client's offer to our server (which accepts it, asking nothing smaller).
    pub fn client_offer(rng: &mut Rng) -> RemoteDeflate {
        let mut header = String::from("permessage-deflate");
        let cnct = rng.one_in(3);
        if rng.one_in(3) {
            header.push_str("; server_no_context_takeover");
        }
        if cnct {
            header.push_str("; client_no_context_takeover");
        }
        if rng.one_in(3) {
            header.push_str(&format!("; server_max_window_bits={}", rng.range(9, 15)));
        }
        let mut bits = 15;
        match rng.below(3) {
            0 => header.push_str("; client_max_window_bits"),
            1 => {
                bits = rng.range(9, 15) as u8;
                header.push_str(&format!("; client_max_window_bits={bits}"));
            }
            _ => {}
        }
        RemoteDeflate::new(header, bits, cnct || rng.one_in(4))
    }

    fn new(header: String, bits: u8, reset: bool) -> RemoteDeflate {
        RemoteDeflate {
            header,
            compressor: Compress::new_with_window_bits(Compression::new(6), false, bits),
            reset,
        }
    }

    /// One message compressed as RFC 7692 section 7.2.1 says (sync flush, tail removed).
    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut input = data;
        loop {
            out.reserve(input.len() + 1024);
            let before = self.compressor.total_in();
            self.compressor
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .expect("compressing into a Vec");
            input = &input[(self.compressor.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        if self.reset {
            self.compressor.reset();
        }
        out
    }
}

/// Inserts `Sec-WebSocket-Extensions: value` into an HTTP head (before its blank line), if the
/// bytes have one.
pub fn add_header(head: &mut Vec<u8>, value: &str) {
    if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
        let line = format!("\r\nSec-WebSocket-Extensions: {value}");
        head.splice(at..at, line.into_bytes());
    }
}

/// Inflates one of our messages with a context kept across messages (a 15-bit inflater reads
/// any window, and a stream from a compressor that resets never refers back).
pub fn inflate(ctx: &mut Decompress, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = [data, &[0, 0, 0xff, 0xff]].concat();
    let mut out = Vec::with_capacity(data.len() * 4 + 64);
    loop {
        out.reserve(64 * 1024);
        let (ib, ob) = (ctx.total_in(), ctx.total_out());
        ctx.decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .map_err(|e| format!("our deflate data is corrupt: {e}"))?;
        let used = (ctx.total_in() - ib) as usize;
        input.drain(..used);
        if input.is_empty() && out.len() < out.capacity() {
            return Ok(out);
        }
        if used == 0 && ctx.total_out() == ob {
            return Err("our deflate data does not end".into());
        }
    }
}
