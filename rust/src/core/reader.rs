//! The inbound message layer: turns a byte stream into messages and control events.
//!
//! Frames are decoded as their bytes arrive (tungstenite parses the header; the payload is
//! unmasked in place and appended to the message being assembled), so a large message never sits
//! in the read buffer. Every RFC 6455 rule about what a remote may send is checked here, and this
//! is the one place permessage-deflate (RFC 7692) transforms payloads: a message whose first
//! frame has RSV1 set is inflated as its bytes arrive, the limit checked on the inflated size.

use std::io::Cursor;

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::close::{self, code, RemoteClose};
use super::deflate::{InflateError, Inflater};
use super::frame::{apply_mask, MAX_CONTROL_PAYLOAD};
use super::state::Role;

/// Most bytes reserved ahead of a data frame's payload (the rest grows as it arrives, and large
/// buffers grow by remapping pages, not copying): a lying header costs at most this much.
const RESERVE_AHEAD: u64 = 64 * 1024;

/// Something the remote sent, complete.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A whole text or binary message.
    Message {
        data: Vec<u8>,
        text: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(RemoteClose),
}

/// Why the remote's bytes cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A protocol violation, to be answered with close `code`.
    Protocol { code: u16, detail: String },
    /// A message longer than the limit (answered with 1009); `size` is what it had reached.
    TooBig { size: u64, limit: usize },
}

fn violation(detail: impl Into<String>) -> ReadError {
    ReadError::Protocol {
        code: code::PROTOCOL_ERROR,
        detail: detail.into(),
    }
}

/// The frame whose payload is being received.
#[derive(Debug)]
struct FrameInProgress {
    opcode: OpCode,
    is_final: bool,
    mask: Option<[u8; 4]>,
    len: u64,
    done: u64,
}

impl FrameInProgress {
    fn new(header: &FrameHeader, len: u64) -> Self {
        FrameInProgress {
            opcode: header.opcode,
            is_final: header.is_final,
            mask: header.mask,
            len,
            done: 0,
        }
    }
}

/// What `skim` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Skim {
    /// Needs more bytes.
    More,
    /// The remote's close frame started: it has answered ours.
    Close,
    /// The bytes no longer make sense as frames.
    Lost,
}

/// A fragmented (or not yet complete) data message.
#[derive(Debug)]
struct PartialMessage {
    data: Vec<u8>,
    text: bool,
    /// Bytes of `data` known to be valid UTF-8 (text only); the rest may be a split character.
    utf8_checked: usize,
    /// The first frame had RSV1 set: the payload is a deflate stream, `data` its inflated bytes.
    compressed: bool,
}

impl PartialMessage {
    /// Validates the bytes appended since the last check (text only). A character split
    /// across chunks or fragments is left for the next round; `complete` says none may be.
    fn check_utf8(&mut self, complete: bool) -> Result<(), ReadError> {
        if !self.text {
            return Ok(());
        }
        let unchecked = &self.data[self.utf8_checked..];
        match std::str::from_utf8(unchecked) {
            Ok(_) => self.utf8_checked = self.data.len(),
            Err(e) if e.error_len().is_none() => self.utf8_checked += e.valid_up_to(),
            Err(_) => return Err(invalid_utf8("text message is not valid UTF-8")),
        }
        if complete && self.utf8_checked != self.data.len() {
            return Err(invalid_utf8("text message ends inside a UTF-8 character"));
        }
        Ok(())
    }
}

/// Decodes frames and assembles messages for one connection.
#[derive(Debug)]
pub struct MessageReader {
    role: Role,
    max_message: usize,
    frame: Option<FrameInProgress>,
    message: Option<PartialMessage>,
    control: Vec<u8>,
    /// A close frame's header has been read.
    saw_close: bool,
    /// A header could not be parsed: where the next frame starts is unknown.
    framing_lost: bool,
    /// The error `read` returned, if any: the reader's state stopped making sense there, so
    /// every later `read` gives it again (only `skim` goes on).
    failed: Option<ReadError>,
    /// permessage-deflate was negotiated: messages with RSV1 are inflated here.
    inflater: Option<Inflater>,
}

impl MessageReader {
    pub fn new(role: Role, max_message: usize) -> Self {
        MessageReader {
            role,
            max_message,
            frame: None,
            message: None,
            control: Vec::new(),
            saw_close: false,
            framing_lost: false,
            failed: None,
            inflater: None,
        }
    }

    /// Accepts compressed messages from now on (permessage-deflate was negotiated).
    pub fn set_inflater(&mut self, inflater: Inflater) {
        self.inflater = Some(inflater);
    }

    /// Whether an inflate context exists now.
    pub fn inflater_allocated(&self) -> bool {
        self.inflater.as_ref().is_some_and(Inflater::is_allocated)
    }

    /// Gives back the inflate context while no message is being read, where nothing carries
    /// over from one message to the next.
    pub fn release_idle(&mut self) {
        if self.message.is_none() {
            if let Some(i) = self.inflater.as_mut() {
                i.release_idle();
            }
        }
    }

    /// Sets the largest message accepted from now on.
    pub fn set_max_message(&mut self, max_message: usize) {
        self.max_message = max_message;
    }

    /// Consumes bytes from the front of `input` (unmasking them in place) and returns how many it
    /// used, plus the first complete event if one finished. Call again with the rest to continue.
    /// On an error the count says how far the bytes were taken apart, so `skim` can go on from
    /// there. After an error every call returns that error again and uses nothing.
    pub fn read(&mut self, input: &mut [u8]) -> (usize, Result<Option<Incoming>, ReadError>) {
        if let Some(e) = &self.failed {
            return (0, Err(e.clone()));
        }
        let mut pos = 0;
        let outcome = self.read_at(input, &mut pos);
        if let Err(e) = &outcome {
            self.failed = Some(e.clone());
            // Nothing more will be added to them: free the memory now, not at close.
            self.message = None;
            self.inflater = None;
        }
        (pos, outcome)
    }

    fn read_at(
        &mut self,
        input: &mut [u8],
        pos: &mut usize,
    ) -> Result<Option<Incoming>, ReadError> {
        loop {
            if self.frame.is_none() {
                let mut cursor = Cursor::new(&input[*pos..]);
                let parsed = FrameHeader::parse(&mut cursor)
                    .map_err(|e| violation(format!("bad frame header: {e}")))?;
                let Some((header, len)) = parsed else {
                    return Ok(None);
                };
                *pos += cursor.position() as usize;
                if let Err(e) = self.begin_frame(&header, len) {
                    // The header was sound: remember the frame so `skim` can step over it.
                    self.frame = Some(FrameInProgress::new(&header, len));
                    return Err(e);
                }
            }
            let frame = self.frame.as_mut().expect("a frame is in progress here");
            let n = usize::try_from(frame.len - frame.done)
                .unwrap_or(usize::MAX)
                .min(input.len() - *pos);
            let chunk = &mut input[*pos..*pos + n];
            if let Some(mask) = frame.mask {
                apply_mask(chunk, mask, (frame.done % 4) as usize);
            }
            frame.done += n as u64;
            *pos += n;
            let finished = frame.done == frame.len;
            let opcode = frame.opcode;
            match opcode {
                OpCode::Control(_) => self.control.extend_from_slice(chunk),
                OpCode::Data(_) => self.message_chunk(chunk)?,
            }
            if !finished {
                return Ok(None);
            }
            if let Some(event) = self.end_frame()? {
                return Ok(Some(event));
            }
        }
    }

    /// After an error: steps over frames without looking into them, until the remote's close
    /// frame (its answer to ours) arrives. Returns the bytes used and what was found.
    pub fn skim(&mut self, input: &[u8]) -> (usize, Skim) {
        let mut pos = 0;
        loop {
            if self.saw_close {
                return (pos, Skim::Close);
            }
            if self.framing_lost {
                return (pos, Skim::Lost);
            }
            let Some(frame) = self.frame.as_mut() else {
                match skim_header(&input[pos..]) {
                    None => return (pos, Skim::More),
                    Some(Err(())) => {
                        self.framing_lost = true;
                        continue;
                    }
                    Some(Ok((opcode, header_len, len))) => {
                        pos += header_len;
                        self.saw_close = opcode == 0x8;
                        self.frame = Some(FrameInProgress {
                            opcode: OpCode::Data(Data::Binary),
                            is_final: true,
                            mask: None,
                            len,
                            done: 0,
                        });
                        continue;
                    }
                }
            };
            let n = usize::try_from(frame.len - frame.done)
                .unwrap_or(usize::MAX)
                .min(input.len() - pos);
            frame.done += n as u64;
            pos += n;
            if frame.done < frame.len {
                return (pos, Skim::More);
            }
            self.frame = None;
        }
    }

    /// Whether a close frame from the remote has been seen (read, refused or skimmed).
    pub fn saw_close(&self) -> bool {
        self.saw_close
    }

    fn begin_frame(&mut self, header: &FrameHeader, len: u64) -> Result<(), ReadError> {
        if header.opcode == OpCode::Control(Control::Close) {
            self.saw_close = true;
        }
        if header.rsv2 || header.rsv3 {
            return Err(violation("RSV2 or RSV3 set, but no extension defines them"));
        }

        if header.rsv1 {
            if self.inflater.is_none() {
                return Err(violation(
                    "RSV1 set, but permessage-deflate was not negotiated",
                ));
            }
            match header.opcode {
                OpCode::Control(_) => return Err(violation("RSV1 set on a control frame")),
                OpCode::Data(Data::Continue) => {
                    return Err(violation("RSV1 set on a continuation frame"))
                }
                OpCode::Data(_) => {}
            }
        }
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(violation("unmasked frame from a client")),
            (Role::Client, true) => return Err(violation("masked frame from a server")),
            _ => {}
        }
        match header.opcode {
            OpCode::Control(_) => {
                if !header.is_final {
                    return Err(violation("fragmented control frame"));
                }
                if len > MAX_CONTROL_PAYLOAD as u64 {
                    return Err(violation(format!(
                        "control frame with {len} bytes of payload"
                    )));
                }
                self.control.clear();
            }
            OpCode::Data(data) => {
                match (data, &self.message) {
                    (Data::Continue, None) => {
                        return Err(violation(
                            "continuation frame without a message to continue",
                        ))
                    }
                    (Data::Text | Data::Binary, Some(_)) => {
                        return Err(violation(
                            "new message before the previous one was finished",
                        ))
                    }
                    _ => {}
                }
                let compressed = match &self.message {
                    Some(m) => m.compressed,
                    None => header.rsv1,
                };
                let so_far = self.message.as_ref().map_or(0, |m| m.data.len() as u64);
                let total = so_far.saturating_add(len);
                // A compressed message's limit is on what it inflates to, checked as it does.
                if !compressed && total > self.max_message as u64 {
                    return Err(ReadError::TooBig {
                        size: total,
                        limit: self.max_message,
                    });
                }
                let message = self.message.get_or_insert_with(|| PartialMessage {
                    data: Vec::new(),
                    text: data == Data::Text,
                    utf8_checked: 0,
                    compressed,
                });
                // Reserve for what the header announces, but not more than a read can bring at
                // once: the length is the remote's word, and inbound_buffer_size may be large.
                if !compressed {
                    message.data.reserve(len.min(RESERVE_AHEAD) as usize);
                }
            }
        }
        self.frame = Some(FrameInProgress::new(header, len));
        Ok(())
    }

    fn message_chunk(&mut self, chunk: &[u8]) -> Result<(), ReadError> {
        let message = self
            .message
            .as_mut()
            .expect("data frames always belong to a message");
        if message.compressed {
            let inflater = self
                .inflater
                .as_mut()
                .expect("a compressed message implies a negotiated inflater");
            inflater
                .inflate(chunk, &mut message.data, self.max_message)
                .map_err(|e| inflate_error(e, self.max_message))?;
        } else {
            message.data.extend_from_slice(chunk);
        }
        // Validate as bytes arrive so a bad message fails fast.
        message.check_utf8(false)
    }

    fn end_frame(&mut self) -> Result<Option<Incoming>, ReadError> {
        let frame = self.frame.take().expect("end_frame follows a frame");
        match frame.opcode {
            OpCode::Control(Control::Ping) => {
                Ok(Some(Incoming::Ping(std::mem::take(&mut self.control))))
            }
            OpCode::Control(Control::Pong) => {
                Ok(Some(Incoming::Pong(std::mem::take(&mut self.control))))
            }
            OpCode::Control(Control::Close) => match close::parse_payload(&self.control) {
                Ok(remote) => Ok(Some(Incoming::Close(remote))),
                Err(bad) => Err(ReadError::Protocol {
                    code: bad.answer,
                    detail: bad.detail,
                }),
            },
            OpCode::Control(Control::Reserved(op)) | OpCode::Data(Data::Reserved(op)) => {
                Err(violation(format!("reserved opcode {op}")))
            }
            OpCode::Data(_) if !frame.is_final => Ok(None),
            OpCode::Data(_) => {
                let mut message = self
                    .message
                    .take()
                    .expect("data frames always belong to a message");
                if message.compressed {
                    let inflater = self
                        .inflater
                        .as_mut()
                        .expect("a compressed message implies a negotiated inflater");
                    inflater
                        .finish_message(&mut message.data, self.max_message)
                        .map_err(|e| inflate_error(e, self.max_message))?;
                    // Output room doubles while inflating; an unread message keeps only its size.
                    if message.data.capacity() - message.data.len() > message.data.len() / 4 {
                        message.data.shrink_to_fit();
                    }
                }
                message.check_utf8(true)?;
                Ok(Some(Incoming::Message {
                    data: message.data,
                    text: message.text,
                }))
            }
        }
    }
}

/// The opcode, header length and payload length of the frame starting `input`, read as leniently
/// as possible (any opcode or reserved bit); `None` until the header is complete, an error for a
/// 64-bit length with its top bit set (no frame can be that long: the framing is lost).
fn skim_header(input: &[u8]) -> Option<Result<(u8, usize, u64), ()>> {
    let (&first, &second) = (input.first()?, input.get(1)?);
    let mask_len = if second & 0x80 != 0 { 4 } else { 0 };
    let (ext_len, len) = match second & 0x7f {
        126 => (
            2,
            u64::from(u16::from_be_bytes(input.get(2..4)?.try_into().ok()?)),
        ),
        127 => (8, u64::from_be_bytes(input.get(2..10)?.try_into().ok()?)),
        n => (0, u64::from(n)),
    };
    if len >> 63 != 0 {
        return Some(Err(()));
    }
    let header_len = 2 + ext_len + mask_len;
    if input.len() < header_len {
        return None;
    }
    Some(Ok((first & 0x0f, header_len, len)))
}

fn inflate_error(e: InflateError, limit: usize) -> ReadError {
    match e {
        InflateError::TooBig { size } => ReadError::TooBig { size, limit },
        // 1007, as browsers and Node's ws answer it: the payload is not what its frame says.
        InflateError::Corrupt(why) => ReadError::Protocol {
            code: code::INVALID_PAYLOAD,
            detail: format!("corrupt permessage-deflate data: {why}"),
        },
    }
}

fn invalid_utf8(detail: &str) -> ReadError {
    ReadError::Protocol {
        code: code::INVALID_PAYLOAD,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::raw_frame;

    fn read_all(
        reader: &mut MessageReader,
        mut bytes: Vec<u8>,
    ) -> Result<Vec<Incoming>, ReadError> {
        let mut events = Vec::new();
        let mut pos = 0;
        loop {
            let (used, event) = reader.read(&mut bytes[pos..]);
            let event = event?;
            pos += used;
            match event {
                Some(e) => events.push(e),
                None => return Ok(events),
            }
        }
    }

    fn client() -> MessageReader {
        MessageReader::new(Role::Client, 1 << 20)
    }

    #[test]
    fn reserved_opcodes_fail_at_their_header() {
        for opcode in [0x3, 0x7, 0xb, 0xf] {
            let mut r = client();
            // Only the header of a frame announcing 10 bytes: it fails before they arrive (the
            // header codec refuses the opcode), so no payload is taken in or inflated.
            let mut bytes = vec![0xc0 | opcode, 10];
            let (_, outcome) = r.read(&mut bytes);
            assert!(
                matches!(&outcome, Err(ReadError::Protocol { code: 1002, detail }) if detail.contains("opcode")),
                "opcode {opcode:#x}: {outcome:?}"
            );
        }
    }

    #[test]
    fn an_error_frees_the_message_in_progress() {
        let mut r = MessageReader::new(Role::Client, 10);
        let mut bytes = raw_frame(0x2, false, b"12345678", None);
        bytes.extend(raw_frame(0x0, false, b"12345678", None));
        let (_, outcome) = r.read(&mut bytes);
        assert!(matches!(outcome, Err(ReadError::TooBig { .. })));
        assert!(r.message.is_none());
    }

    #[test]
    fn after_an_error_read_repeats_it_and_skim_goes_on() {
        // A first fragment over the limit: the frame is in progress but no message is kept, so
        // reading its payload on would have nowhere to go.
        let mut r = MessageReader::new(Role::Client, 4);
        let mut bytes = raw_frame(0x2, false, b"too long", None);
        let (used, first) = r.read(&mut bytes);
        assert_eq!(first, Err(ReadError::TooBig { size: 8, limit: 4 }));
        let mut rest = bytes[used..].to_vec();
        rest.extend(raw_frame(0x0, true, b"more", None));
        for _ in 0..2 {
            let again = r.read(&mut rest);
            assert_eq!(again, (0, Err(ReadError::TooBig { size: 8, limit: 4 })));
        }
        rest.extend(raw_frame(0x8, true, &1000u16.to_be_bytes(), None));
        // Over the rest of the long frame and the next one, up to the close frame's payload.
        assert_eq!(r.skim(&rest), (rest.len() - 2, Skim::Close));
    }

    #[test]
    fn reads_rfc_6455_example_frames() {
        let mut r = client();
        // Section 5.7: a single-frame unmasked text message, then a fragmented one.
        let mut bytes = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        bytes.extend([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
        let events = read_all(&mut r, bytes).unwrap();
        assert_eq!(
            events,
            vec![
                Incoming::Message {
                    data: b"Hello".to_vec(),
                    text: true
                },
                Incoming::Message {
                    data: b"Hello".to_vec(),
                    text: true
                },
            ]
        );
        let mut server = MessageReader::new(Role::Server, 100);
        let masked = vec![
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            read_all(&mut server, masked).unwrap(),
            vec![Incoming::Message {
                data: b"Hello".to_vec(),
                text: true
            }]
        );
    }

    #[test]
    fn bytes_may_arrive_one_at_a_time() {
        let mut r = MessageReader::new(Role::Server, 1 << 20);
        let mut bytes = raw_frame(0x1, false, b"Hel\xc3", Some([1, 2, 3, 4]));
        bytes.extend(raw_frame(0x9, true, b"pp", Some([5, 6, 7, 8])));
        bytes.extend(raw_frame(0x0, true, b"\xa9lo", Some([9, 9, 9, 9])));
        let mut events = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for b in bytes {
            pending.push(b);
            let (used, event) = r.read(&mut pending);
            let event = event.unwrap();
            pending.drain(..used);
            events.extend(event);
        }
        // The ping between fragments is its own event; the message is not spliced (engine bug).
        assert_eq!(
            events,
            vec![
                Incoming::Ping(b"pp".to_vec()),
                Incoming::Message {
                    data: "Helélo".as_bytes().to_vec(),
                    text: true
                },
            ]
        );
    }

    #[test]
    fn rejects_protocol_violations_with_the_right_code() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (vec![0xc1, 0x00], 1002), // RSV1 without extension
            (vec![0x83, 0x00], 1002), // reserved opcode
            (vec![0x80, 0x00], 1002), // continuation without message
            (vec![0x09, 0x00], 1002), // fragmented ping
            ([vec![0x89, 0x7e, 0x00, 0x7e], vec![0; 126]].concat(), 1002), // ping > 125
            (
                [
                    raw_frame(0x1, false, b"a", None),
                    raw_frame(0x1, true, b"b", None),
                ]
                .concat(),
                1002,
            ),
            (raw_frame(0x1, true, b"\xff", None), 1007), // invalid UTF-8
            (raw_frame(0x1, true, b"\xe2\x82", None), 1007), // truncated UTF-8
            (raw_frame(0x8, true, &[0x03, 0xec], None), 1002), // close code 1004
            (raw_frame(0x1, true, b"x", Some([1, 1, 1, 1])), 1002), // masked frame to a client
        ];
        for (bytes, want) in cases {
            let got = read_all(&mut client(), bytes.clone());
            assert!(
                matches!(got, Err(ReadError::Protocol { code, .. }) if code == want),
                "{bytes:02x?} gave {got:?}, wanted {want}"
            );
        }
    }

    #[test]
    fn limits_whole_messages_not_just_frames() {
        let mut r = MessageReader::new(Role::Client, 10);
        let ok = raw_frame(0x2, true, &[7; 10], None);
        assert_eq!(read_all(&mut r, ok).unwrap().len(), 1);
        let two_fragments = [
            raw_frame(0x2, false, &[1; 6], None),
            raw_frame(0x0, true, &[2; 6], None),
        ]
        .concat();
        assert_eq!(
            read_all(&mut r, two_fragments),
            Err(ReadError::TooBig {
                size: 12,
                limit: 10
            })
        );
        let mut r = MessageReader::new(Role::Client, 10);
        // Refused from the header alone, before any payload arrives.
        assert!(matches!(
            read_all(&mut r, vec![0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0]),
            Err(ReadError::TooBig { .. })
        ));
    }

    #[test]
    fn a_claimed_length_reserves_little_before_the_bytes_arrive() {
        // Found by fuzzing: with a large inbound_buffer_size, a 10-byte header claiming 1 GiB
        // made the reader reserve 1 GiB at once (an abort when the allocation fails).
        let mut r = MessageReader::new(Role::Client, 1 << 31);
        let mut header = vec![0x82, 0x7f];
        header.extend((1u64 << 30).to_be_bytes());
        let (used, outcome) = r.read(&mut header);
        assert_eq!((used, outcome), (10, Ok(None)));
        let reserved = r.message.as_ref().map_or(0, |m| m.data.capacity());
        assert!(
            reserved <= RESERVE_AHEAD as usize,
            "{reserved} bytes reserved"
        );
    }

    #[test]
    fn empty_messages_and_close_frames() {
        let bytes = [
            raw_frame(0x2, true, b"", None),
            raw_frame(0x8, true, b"", None),
        ]
        .concat();
        assert_eq!(
            read_all(&mut client(), bytes).unwrap(),
            vec![
                Incoming::Message {
                    data: vec![],
                    text: false
                },
                Incoming::Close(RemoteClose {
                    code: 0,
                    reason: String::new()
                }),
            ]
        );
    }

    mod compressed {
        use super::*;
        use crate::core::deflate::params::Direction;
        use crate::core::deflate::{DeflateSettings, Deflater};

        fn dir(no_context_takeover: bool, bits: u8) -> Direction {
            Direction {
                no_context_takeover,
                max_window_bits: bits,
            }
        }

        fn reader(limit: usize, d: Direction) -> MessageReader {
            let mut r = MessageReader::new(Role::Client, limit);
            r.set_inflater(Inflater::new(d));
            r
        }

        fn deflated(d: &mut Deflater, msg: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            assert!(d.compress(msg, &mut out));
            out
        }

        /// A compressed message as frames: RSV1 on the first only, cut into `pieces` fragments.
        fn frames(opcode: u8, payload: &[u8], pieces: usize) -> Vec<u8> {
            let size = payload.len().div_ceil(pieces.max(1)).max(1);
            let chunks: Vec<&[u8]> = if payload.is_empty() {
                vec![&[]]
            } else {
                payload.chunks(size).collect()
            };
            let mut out = Vec::new();
            for (i, c) in chunks.iter().enumerate() {
                let mut f = raw_frame(
                    if i == 0 { opcode } else { 0 },
                    i + 1 == chunks.len(),
                    c,
                    None,
                );
                if i == 0 {
                    f[0] |= 0x40;
                }
                out.extend(f);
            }
            out
        }

        #[test]
        fn fragmented_compressed_messages_with_context_takeover_and_9_bit_windows() {
            for bits in [9, 12, 15] {
                for no_ctx in [false, true] {
                    let mut d = Deflater::new(dir(no_ctx, bits), DeflateSettings::default());
                    let mut r = reader(1 << 20, dir(no_ctx, bits));
                    let text =
                        "{\"players\":[{\"id\":1,\"x\":10.5},{\"id\":2,\"x\":11.5}]} é".repeat(40);
                    let mut bytes = Vec::new();
                    for pieces in [1, 3, 7] {
                        bytes.extend(frames(0x1, &deflated(&mut d, text.as_bytes()), pieces));
                        // An uncompressed message between compressed ones is fine (RSV1 = 0).
                        bytes.extend(raw_frame(0x2, true, b"raw", None));
                    }
                    // Bytes one at a time, as the network may cut them.
                    let mut events = Vec::new();
                    let mut pending = Vec::new();
                    for b in bytes {
                        pending.push(b);
                        let (used, e) = r.read(&mut pending);
                        pending.drain(..used);
                        events.extend(e.unwrap());
                    }
                    let want: Vec<Incoming> = (0..3)
                        .flat_map(|_| {
                            [message_of(text.as_bytes(), true), message_of(b"raw", false)]
                        })
                        .collect();
                    assert_eq!(events, want, "{bits} {no_ctx}");
                }
            }
        }

        fn message_of(data: &[u8], text: bool) -> Incoming {
            Incoming::Message {
                data: data.to_vec(),
                text,
            }
        }

        #[test]
        fn rsv1_misuse_is_a_protocol_error() {
            let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
            let z = deflated(&mut d, b"hello");
            let mut on_continuation = raw_frame(0x1, false, &z[..2], None);
            on_continuation[0] |= 0x40;
            let mut cont = raw_frame(0x0, true, &z[2..], None);
            cont[0] |= 0x40;
            on_continuation.extend(cont);
            let mut ping = raw_frame(0x9, true, b"p", None);
            ping[0] |= 0x40;
            let mut rsv2 = frames(0x1, &z, 1);
            rsv2[0] |= 0x20;
            for (bytes, why) in [
                (on_continuation, "continuation"),
                (ping, "control"),
                (rsv2, "RSV2"),
            ] {
                match read_all(&mut reader(1000, dir(false, 15)), bytes) {
                    Err(ReadError::Protocol { code: 1002, detail }) => {
                        assert!(detail.contains(why), "{detail}")
                    }
                    other => panic!("{why}: {other:?}"),
                }
            }
            // Without negotiation RSV1 is refused even on a valid compressed message.
            match read_all(&mut client(), frames(0x1, &z, 1)) {
                Err(ReadError::Protocol { code: 1002, detail }) => {
                    assert!(detail.contains("not negotiated"), "{detail}")
                }
                other => panic!("{other:?}"),
            }
        }

        #[test]
        fn a_bomb_closes_with_1009_and_memory_stays_near_the_limit() {
            let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
            let z = deflated(&mut d, &vec![b'a'; 8 << 20]);
            assert!(z.len() < 16 * 1024);
            let limit = 65535;
            let mut r = reader(limit, dir(false, 15));
            let mut bytes = frames(0x2, &z, 4);
            let (_, outcome) = r.read(&mut bytes);
            assert!(
                matches!(outcome, Err(ReadError::TooBig { size, limit: 65535 }) if size > limit as u64)
            );
            let held = r.message.as_ref().map_or(0, |m| m.data.capacity());
            assert!(held <= limit + 1, "{held}");
            // The same message exactly at the limit passes; one byte over does not.
            let mut d = Deflater::new(dir(true, 15), DeflateSettings::default());
            let z = deflated(&mut d, &vec![b'a'; limit]);
            assert_eq!(
                read_all(&mut reader(limit, dir(true, 15)), frames(0x2, &z, 2))
                    .unwrap()
                    .len(),
                1
            );
            assert!(matches!(
                read_all(&mut reader(limit - 1, dir(true, 15)), frames(0x2, &z, 2)),
                Err(ReadError::TooBig { .. })
            ));
        }

        #[test]
        fn corrupt_data_and_bad_utf8_inside_a_compressed_message() {
            match read_all(
                &mut reader(1000, dir(false, 15)),
                frames(0x2, &[0xff, 0xff, 0xff, 0xff], 1),
            ) {
                Err(ReadError::Protocol { code: 1007, detail }) => {
                    assert!(
                        detail.contains("corrupt permessage-deflate data"),
                        "{detail}"
                    )
                }
                other => panic!("{other:?}"),
            }
            let mut d = Deflater::new(dir(false, 15), DeflateSettings::default());
            let z = deflated(&mut d, b"ok \xff");
            assert!(matches!(
                read_all(&mut reader(1000, dir(false, 15)), frames(0x1, &z, 1)),
                Err(ReadError::Protocol { code: 1007, .. })
            ));
            // A compressed text message ending inside a character.
            let z = deflated(
                &mut Deflater::new(dir(false, 15), DeflateSettings::default()),
                b"\xc3",
            );
            assert!(matches!(
                read_all(&mut reader(1000, dir(false, 15)), frames(0x1, &z, 1)),
                Err(ReadError::Protocol { code: 1007, .. })
            ));
        }
    }
}
