//! permessage-deflate (RFC 7692): negotiation (`params`) and the per-connection codec (`codec`).
//!
//! The frame layer (`reader`, `connection`) decides which messages go through the codec: RSV1
//! on the first frame of a compressed message, never on control or continuation frames.

pub mod codec;
pub mod params;

pub use codec::{DeflateSettings, Deflater, InflateError, Inflater};
pub use params::Agreement;
