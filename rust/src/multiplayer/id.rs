//! The peer id message: right after the WebSocket handshake the server sends each client its id
//! as one binary message of 4 bytes, a little-endian `int32` of at least 2 (1 is the server).

use std::fmt;

/// The server's id.
pub const SERVER_ID: i32 = 1;

/// The id message for `id`.
pub fn encode(id: i32) -> [u8; 4] {
    id.to_le_bytes()
}

/// Why a first message is not a peer id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    /// Not exactly 4 bytes.
    WrongSize(usize),
    /// Below 2 (0, negative, or the server's own 1).
    OutOfRange(i32),
    /// A text message instead of a binary one.
    Text,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::WrongSize(n) => write!(f, "a message of {n} bytes instead of 4"),
            IdError::OutOfRange(id) => write!(f, "{id} (ids of clients are 2 or more)"),
            IdError::Text => write!(f, "a text message instead of 4 binary bytes"),
        }
    }
}

/// The id in the server's first message.
pub fn decode(message: &[u8], text: bool) -> Result<i32, IdError> {
    let bytes: [u8; 4] = message
        .try_into()
        .map_err(|_| IdError::WrongSize(message.len()))?;
    if text {
        return Err(IdError::Text);
    }
    let id = i32::from_le_bytes(bytes);
    if id < 2 {
        return Err(IdError::OutOfRange(id));
    }
    Ok(id)
}

/// A new client id: the first candidate from `generate` (the engine's `generate_unique_id()`)
/// that is a valid client id and not `taken`. The engine's class takes the first candidate
/// without checking; a collision would replace a connected peer. After 64 unusable candidates
/// (in practice never) the lowest free id is used, so this always ends.
pub fn pick(mut generate: impl FnMut() -> i64, taken: impl Fn(i32) -> bool) -> i32 {
    for _ in 0..64 {
        if let Ok(id) = i32::try_from(generate()) {
            if id >= 2 && !taken(id) {
                return id;
            }
        }
    }
    (2..=i32::MAX)
        .find(|&id| !taken(id))
        .expect("fewer than 2^31 peers are connected")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_little_endian() {
        assert_eq!(encode(0x0102_0304), [4, 3, 2, 1]);
        assert_eq!(decode(&encode(2), false), Ok(2));
        assert_eq!(decode(&encode(i32::MAX), false), Ok(i32::MAX));
    }

    #[test]
    fn a_first_message_that_is_not_4_binary_bytes_is_refused() {
        assert_eq!(decode(&[], false), Err(IdError::WrongSize(0)));
        assert_eq!(decode(&[2, 0, 0], false), Err(IdError::WrongSize(3)));
        assert_eq!(decode(&[2, 0, 0, 0, 0], false), Err(IdError::WrongSize(5)));
        assert_eq!(decode(&[2, 0, 0, 0], true), Err(IdError::Text));
    }

    #[test]
    fn ids_below_2_are_refused() {
        assert_eq!(decode(&encode(1), false), Err(IdError::OutOfRange(1)));
        assert_eq!(decode(&encode(0), false), Err(IdError::OutOfRange(0)));
        assert_eq!(decode(&encode(-5), false), Err(IdError::OutOfRange(-5)));
        assert_eq!(decode(&[0xff; 4], false), Err(IdError::OutOfRange(-1)));
    }

    #[test]
    fn pick_skips_taken_and_invalid_candidates() {
        let mut candidates = vec![7, 1, 0, -3, 1 << 40, 7, 9].into_iter();
        let id = pick(|| candidates.next().unwrap(), |id| id == 7);
        assert_eq!(id, 9);
    }

    #[test]
    fn pick_ends_even_when_every_candidate_is_unusable() {
        assert_eq!(pick(|| 1, |id| id < 5), 5);
    }
}
