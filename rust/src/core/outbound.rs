//! Frames waiting to be written, with the engine's accounting of what is still buffered.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

/// What a queued frame is, for ordering and accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Handshake bytes: written first, never counted.
    Raw,
    /// A text or binary message.
    Data,
    /// Ping: goes ahead of data that has not started.
    Ping,
    /// Pong: like a ping, and a newer pong replaces one not yet started.
    Pong,
    /// Our close frame.
    Close,
}

#[derive(Debug)]
struct OutFrame {
    bytes: Vec<u8>,
    /// Payload bytes, counted in `buffered_amount` until the frame is fully written.
    payload: usize,
    kind: Kind,
}

/// Unsent pongs kept before newer ones replace the last (a burst of pings is answered in full).
pub const MAX_WAITING_PONGS: usize = 16;

/// How many frames one vectored write may cover.
const MAX_IOVECS: usize = 64;

/// Written frames' buffers kept for new frames (small ones only): a stream of small messages
/// then allocates nothing.
const SPARE_BUFFERS: usize = 64;
const SPARE_MAX_CAPACITY: usize = 4096;

/// The outbound queue.
#[derive(Debug, Default)]
pub struct Outbound {
    frames: VecDeque<OutFrame>,
    /// Bytes of the front frame already written.
    head_written: usize,
    /// Payload bytes of data frames not fully written (the engine's buffered amount).
    buffered: usize,
    /// Empty buffers for new frames.
    spare: Vec<Vec<u8>>,
}

impl Outbound {
    /// Frames waiting, data and control.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Payload bytes of messages whose last byte has not been written yet.
    pub fn buffered_amount(&self) -> usize {
        self.buffered
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Whether our close frame is still (partly) unwritten.
    pub fn has_close(&self) -> bool {
        self.frames.iter().any(|f| f.kind == Kind::Close)
    }

    pub fn push_raw(&mut self, bytes: Vec<u8>) {
        self.frames.push_back(OutFrame {
            bytes,
            payload: 0,
            kind: Kind::Raw,
        });
    }

    pub fn push_data(&mut self, bytes: Vec<u8>, payload: usize) {
        self.buffered += payload;
        self.frames.push_back(OutFrame {
            bytes,
            payload,
            kind: Kind::Data,
        });
    }

    /// Queues a ping after other control frames but ahead of data not yet started.
    pub fn push_ping(&mut self, bytes: Vec<u8>) {
        self.insert_control(bytes, Kind::Ping);
    }

    /// Queues a pong like a ping. Past [`MAX_WAITING_PONGS`] unsent pongs, the newest replaces
    /// the last one waiting (RFC 6455 section 5.5.3 allows answering only the latest ping), so a
    /// flood of pings cannot grow the queue while the remote is not reading.
    pub fn push_pong(&mut self, bytes: Vec<u8>) {
        let start = usize::from(self.head_written > 0);
        let mut waiting = self
            .frames
            .iter_mut()
            .skip(start)
            .filter(|f| f.kind == Kind::Pong);
        if let Some(last) = waiting.by_ref().nth(MAX_WAITING_PONGS - 1) {
            let last = waiting.last().unwrap_or(last);
            last.bytes = bytes;
            return;
        }
        self.insert_control(bytes, Kind::Pong);
    }

    fn insert_control(&mut self, bytes: Vec<u8>, kind: Kind) {
        let at = self.first_unstarted_data();
        self.frames.insert(
            at,
            OutFrame {
                bytes,
                payload: 0,
                kind,
            },
        );
    }

    /// Queues our close frame. Data not yet started is discarded, as the engine does: the close
    /// goes out right after the frame being written (a frame cannot be cut in half).
    pub fn push_close(&mut self, bytes: Vec<u8>) {
        let keep = self.first_unstarted_data();
        let dropped: usize = self
            .frames
            .iter()
            .skip(keep)
            .filter(|f| f.kind == Kind::Data)
            .map(|f| f.payload)
            .sum();
        self.buffered -= dropped;
        let tail: Vec<OutFrame> = self
            .frames
            .drain(keep..)
            .filter(|f| f.kind != Kind::Data)
            .collect();
        self.frames.extend(tail);
        self.frames.push_back(OutFrame {
            bytes,
            payload: 0,
            kind: Kind::Close,
        });
    }

    /// An empty buffer to encode a frame into (a recycled one when there is one).
    pub fn take_buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Gives back the queue's memory when it is empty.
    pub fn shrink_if_empty(&mut self) {
        if self.frames.is_empty() {
            self.frames = VecDeque::new();
        }
        self.spare = Vec::new();
    }

    /// Drops everything (the connection is gone).
    pub fn clear(&mut self) {
        self.frames = VecDeque::new();
        self.head_written = 0;
        self.buffered = 0;
        self.spare = Vec::new();
    }

    /// Index of the first data frame that has not started; control frames go there.
    fn first_unstarted_data(&self) -> usize {
        let start = usize::from(self.head_written > 0);
        self.frames
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, f)| f.kind == Kind::Data)
            .map_or(self.frames.len(), |(i, _)| i)
    }

    /// Writes as much as `w` accepts. Returns the bytes written; `WouldBlock` ends the attempt
    /// quietly, any other error is returned.
    pub fn write_to(&mut self, w: &mut dyn Write) -> io::Result<usize> {
        let mut total = 0;
        while !self.frames.is_empty() {
            let written = {
                let mut slices: [IoSlice<'_>; MAX_IOVECS] = [IoSlice::new(&[]); MAX_IOVECS];
                let mut n = 0;
                for (i, f) in self.frames.iter().take(MAX_IOVECS).enumerate() {
                    let from = if i == 0 { self.head_written } else { 0 };
                    slices[n] = IoSlice::new(&f.bytes[from..]);
                    n += 1;
                }
                match w.write_vectored(&slices[..n]) {
                    Ok(0) => {
                        return Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "the transport accepted no bytes",
                        ))
                    }
                    Ok(k) => k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            total += written;
            self.advance(written);
        }
        Ok(total)
    }

    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let front = self
                .frames
                .front()
                .expect("cannot write more than was queued");
            let left = front.bytes.len() - self.head_written;
            if n < left {
                self.head_written += n;
                return;
            }
            n -= left;
            self.head_written = 0;
            let mut done = self.frames.pop_front().expect("checked above");
            self.buffered -= done.payload;
            if done.bytes.capacity() <= SPARE_MAX_CAPACITY && self.spare.len() < SPARE_BUFFERS {
                done.bytes.clear();
                self.spare.push(done.bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::ChokedWriter;

    #[test]
    fn counts_whole_messages_until_their_last_byte_is_written() {
        let mut q = Outbound::default();
        q.push_data(vec![1; 10], 8);
        q.push_data(vec![2; 10], 8);
        assert_eq!(q.buffered_amount(), 16);
        let mut w = ChokedWriter::new(5);
        assert_eq!(q.write_to(&mut w).unwrap(), 5);
        assert_eq!(
            q.buffered_amount(),
            16,
            "a half-written message still counts whole"
        );
        w.allow(5);
        q.write_to(&mut w).unwrap();
        assert_eq!((q.buffered_amount(), q.frame_count()), (8, 1));
        w.allow(100);
        q.write_to(&mut w).unwrap();
        assert!(q.is_empty());
        assert_eq!(w.data, [vec![1; 10], vec![2; 10]].concat());
    }

    #[test]
    fn control_frames_overtake_unstarted_data_but_never_split_a_frame() {
        let mut q = Outbound::default();
        q.push_data(vec![1; 4], 4);
        q.push_data(vec![2; 4], 4);
        let mut w = ChokedWriter::new(2);
        q.write_to(&mut w).unwrap();
        q.push_ping(vec![9; 2]);
        q.push_pong(vec![8; 2]);
        w.allow(100);
        q.write_to(&mut w).unwrap();
        assert_eq!(w.data, vec![1, 1, 1, 1, 9, 9, 8, 8, 2, 2, 2, 2]);
    }

    #[test]
    fn a_burst_of_pings_is_answered_but_a_flood_is_capped() {
        let mut q = Outbound::default();
        q.push_data(vec![1; 4], 4);
        let mut w = ChokedWriter::new(1);
        q.write_to(&mut w).unwrap();
        for i in 0..1000u16 {
            q.push_pong(i.to_be_bytes().to_vec());
        }
        assert_eq!(q.frame_count(), 1 + MAX_WAITING_PONGS);
        w.allow(1000);
        q.write_to(&mut w).unwrap();
        let mut want = vec![1, 1, 1, 1];
        for i in 0..MAX_WAITING_PONGS as u16 - 1 {
            want.extend(i.to_be_bytes());
        }
        want.extend(999u16.to_be_bytes());
        assert_eq!(
            w.data, want,
            "the first pongs in order, the last one the newest"
        );
    }

    #[test]
    fn close_discards_data_that_has_not_started() {
        let mut q = Outbound::default();
        q.push_data(vec![1; 4], 4);
        q.push_data(vec![2; 4], 4);
        q.push_pong(vec![7; 2]);
        let mut w = ChokedWriter::new(3); // pong (2) and one byte of the first message
        q.write_to(&mut w).unwrap();
        q.push_data(vec![3; 4], 4);
        q.push_close(vec![8; 2]);
        assert!(q.has_close());
        assert_eq!(q.buffered_amount(), 4);
        w.allow(100);
        q.write_to(&mut w).unwrap();
        assert_eq!(w.data, vec![7, 7, 1, 1, 1, 1, 8, 8]);
        assert!(!q.has_close());
    }
}
