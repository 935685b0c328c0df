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

/// An IP address written the way the engine's `IPAddress` writes it: IPv4 (also IPv4-mapped
/// IPv6) dotted, IPv6 as eight lowercase hex groups without `::` shortening.
pub fn engine_ip_string(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6
                .segments()
                .iter()
                .map(|g| format!("{g:x}"))
                .collect::<Vec<_>>()
                .join(":"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::engine_ip_string;

    #[test]
    fn ip_strings_match_the_engine() {
        assert_eq!(engine_ip_string("::1".parse().unwrap()), "0:0:0:0:0:0:0:1");
        assert_eq!(
            engine_ip_string("fe80::1:abcd".parse().unwrap()),
            "fe80:0:0:0:0:0:1:abcd"
        );
        assert_eq!(
            engine_ip_string("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1"
        );
        assert_eq!(engine_ip_string("127.0.0.1".parse().unwrap()), "127.0.0.1");
    }
}
