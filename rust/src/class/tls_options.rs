//! Reads an engine `TLSOptions` (and the project's certificate bundle setting) into plain
//! `TlsSettings` for the transport.

use std::sync::atomic::{AtomicU64, Ordering};

use godot::classes::{FileAccess, ProjectSettings, TlsOptions, X509Certificate};
use godot::global::godot_warn;
use godot::prelude::*;

use crate::transport::tls_config::{TlsSettings, Verify};

const BUNDLE_SETTING: &str = "network/tls/certificate_bundle_override";

/// The settings for `options` (`None` = `TLSOptions.client()`).
pub fn settings_for(options: Option<&Gd<TlsOptions>>) -> TlsSettings {
    let bundle_override = bundle_override();
    let Some(options) = options else {
        return TlsSettings {
            bundle_override,
            ..TlsSettings::default()
        };
    };
    let trusted = options
        .get_trusted_ca_chain()
        .and_then(pem_of)
        .filter(|pem| !pem.is_empty());
    let verify = match (options.is_unsafe_client(), trusted.is_some()) {
        (false, _) => Verify::Full,
        (true, true) => Verify::ChainOnly,
        (true, false) => Verify::Nothing,
    };
    let name = options.get_common_name_override().to_string();
    TlsSettings {
        verify,
        trusted,
        name_override: (!name.is_empty()).then_some(name),
        bundle_override,
    }
}

/// The PEM file named by the project setting, when set and readable.
fn bundle_override() -> Option<Vec<u8>> {
    let path = ProjectSettings::singleton()
        .get_setting(BUNDLE_SETTING)
        .try_to::<GString>()
        .ok()?;
    if path.is_empty() {
        return None;
    }
    let bytes = FileAccess::get_file_as_bytes(&path);
    if bytes.is_empty() {
        godot_warn!(
            "RustWebSocketPeer: cannot read {BUNDLE_SETTING} \"{path}\"; using the built-in roots"
        );
        return None;
    }
    Some(bytes.as_slice().to_vec())
}

/// The PEM text of a certificate chain. Goes through a temporary file: the engine's
/// `save_to_string()` ends its text with a NUL byte and prints a Unicode error on every call.
fn pem_of(mut chain: Gd<X509Certificate>) -> Option<Vec<u8>> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("godot-websocket-{}-{n}.crt", std::process::id()));
    let godot_path = GString::from(&path.to_string_lossy().into_owned());
    let result = (chain.save(&godot_path) == godot::global::Error::OK)
        .then(|| std::fs::read(&path).ok())
        .flatten();
    let _ = std::fs::remove_file(&path);
    if result.is_none() {
        godot_warn!(
            "RustWebSocketPeer: cannot read the trusted certificate chain of the TLSOptions"
        );
    }
    result
}
