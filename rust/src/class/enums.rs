//! The class's `State` and `WriteMode` enums, registered with the engine's names and values.
//!
//! gdext 0.5 cannot register class enums yet, so the constants are registered through its
//! (hidden) constant API once the class exists, and the Rust types convert by hand with the
//! qualified enum name so ClassDB shows typed parameters and return values.

use std::borrow::Cow;

use godot::meta::error::ConvertError;
use godot::meta::shape::{EnumeratorShape, GodotShape};
use godot::meta::{FromGodot, GodotConvert, GodotImmutable, ToGodot};
use godot::prelude::*;

use crate::core::state::ReadyState;

/// Ready state, as `WebSocketPeer.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Connecting = 0,
    Open = 1,
    Closing = 2,
    Closed = 3,
}

const STATE_ENUMERATORS: &[EnumeratorShape] = &[
    EnumeratorShape::new_int("STATE_CONNECTING", 0),
    EnumeratorShape::new_int("STATE_OPEN", 1),
    EnumeratorShape::new_int("STATE_CLOSING", 2),
    EnumeratorShape::new_int("STATE_CLOSED", 3),
];

/// How `send` frames a message, as `WebSocketPeer.WriteMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    Text = 0,
    Binary = 1,
}

const WRITE_MODE_ENUMERATORS: &[EnumeratorShape] = &[
    EnumeratorShape::new_int("WRITE_MODE_TEXT", 0),
    EnumeratorShape::new_int("WRITE_MODE_BINARY", 1),
];

// SAFETY: both enums are plain `Copy` values with no interior mutability, so a default value can
// be shared between calls.
unsafe impl GodotImmutable for WriteMode {}

impl From<ReadyState> for State {
    fn from(s: ReadyState) -> Self {
        match s {
            ReadyState::Connecting => State::Connecting,
            ReadyState::Open => State::Open,
            ReadyState::Closing => State::Closing,
            ReadyState::Closed => State::Closed,
        }
    }
}

fn enum_shape(enumerators: &'static [EnumeratorShape], name: &'static str) -> GodotShape {
    GodotShape::Enum {
        variant_type: VariantType::INT,
        enumerators: Cow::Borrowed(enumerators),
        godot_name: Some(name.into()),
        is_bitfield: false,
    }
}

impl GodotConvert for State {
    type Via = i64;
    fn godot_shape() -> GodotShape {
        enum_shape(STATE_ENUMERATORS, "RustWebSocketPeer.State")
    }
}

impl ToGodot for State {
    type Pass = godot::meta::conv::ByValue;
    fn to_godot(&self) -> i64 {
        *self as i64
    }
}

impl FromGodot for State {
    fn try_from_godot(v: i64) -> Result<Self, ConvertError> {
        match v {
            0 => Ok(State::Connecting),
            1 => Ok(State::Open),
            2 => Ok(State::Closing),
            3 => Ok(State::Closed),
            _ => Err(ConvertError::new(format!(
                "{v} is not a RustWebSocketPeer.State"
            ))),
        }
    }
}

impl GodotConvert for WriteMode {
    type Via = i64;
    fn godot_shape() -> GodotShape {
        enum_shape(WRITE_MODE_ENUMERATORS, "RustWebSocketPeer.WriteMode")
    }
}

impl ToGodot for WriteMode {
    type Pass = godot::meta::conv::ByValue;
    fn to_godot(&self) -> i64 {
        *self as i64
    }
}

impl FromGodot for WriteMode {
    /// Any value but `WRITE_MODE_TEXT` means binary, as in the engine (a strict conversion would
    /// abort the calling script instead).
    fn try_from_godot(v: i64) -> Result<Self, ConvertError> {
        Ok(if v == 0 {
            WriteMode::Text
        } else {
            WriteMode::Binary
        })
    }
}

/// Registers both enums' constants on the class; call once the class is registered.
pub fn register(class: godot::meta::ClassId) {
    use godot::register::private::constant::{ConstantKind, ExportConstant, IntegerConstant};
    for (name, enumerators) in [
        ("State", STATE_ENUMERATORS),
        ("WriteMode", WRITE_MODE_ENUMERATORS),
    ] {
        let enumerators = enumerators
            .iter()
            .map(|e| IntegerConstant::new(&e.name, e.value.expect("int enumerators have values")))
            .collect();
        ExportConstant::new(
            class,
            ConstantKind::Enum {
                name: name.into(),
                enumerators,
            },
        )
        .register();
    }
}
