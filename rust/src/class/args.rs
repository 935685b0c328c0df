//! Conversions of engine argument types the class needs.

use godot::classes::TlsOptions;
use godot::meta::error::ConvertError;
use godot::meta::shape::GodotShape;
use godot::meta::{FromGodot, GodotConvert, GodotImmutable, ToGodot};
use godot::prelude::*;

/// An optional `TLSOptions` argument whose default is `null`, as in the engine's signature.
/// gdext 0.5 accepts only immutable defaults, which `Option<Gd<T>>` is not; this wrapper is.
#[derive(Clone, Debug)]
pub struct OptTls(pub Option<Gd<TlsOptions>>);

impl GodotConvert for OptTls {
    type Via = Option<Gd<TlsOptions>>;
    fn godot_shape() -> GodotShape {
        <Option<Gd<TlsOptions>> as GodotConvert>::godot_shape()
    }
}

impl ToGodot for OptTls {
    type Pass = godot::meta::conv::ByValue;
    fn to_godot(&self) -> Self::Via {
        self.0.clone()
    }
}

impl FromGodot for OptTls {
    fn try_from_godot(v: Self::Via) -> Result<Self, ConvertError> {
        Ok(OptTls(v))
    }
}

// SAFETY: the only default ever built is `OptTls(None)`, which holds no object, so sharing it
// between calls shares nothing mutable.
unsafe impl GodotImmutable for OptTls {}

/// The entries of a `PackedStringArray` as Rust strings (through UTF-8 bytes, which is much
/// faster than converting character by character).
pub fn strings(array: &PackedStringArray) -> Vec<String> {
    array.as_slice().iter().map(to_string).collect()
}

/// A `GString` as a Rust `String`, through its UTF-8 bytes.
pub fn to_string(s: &GString) -> String {
    String::from_utf8_lossy(s.to_utf8_buffer().as_slice()).into_owned()
}
