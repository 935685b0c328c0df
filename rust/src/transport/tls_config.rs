//! rustls client configurations for the engine's `TLSOptions` variants.
//!
//! | TLSOptions                     | chain checked against       | host name checked against |
//! |--------------------------------|-----------------------------|---------------------------|
//! | `null` / `client()`            | default roots               | URL host                  |
//! | `client(chain)`                | `chain` only                | URL host                  |
//! | `client(chain, name)`          | `chain` (or default roots)  | `name`                    |
//! | `client_unsafe()`              | nothing                     | nothing                   |
//! | `client_unsafe(chain)`         | `chain`                     | nothing                   |
//!
//! Default roots are the project's `network/tls/certificate_bundle_override` file when set,
//! else Mozilla's list from `webpki-roots`.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::x509;
use crate::core::error::WsError;

/// How much of the server's certificate to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verify {
    /// Chain and host name (`TLSOptions.client()`).
    #[default]
    Full,
    /// Chain only (`TLSOptions.client_unsafe(chain)`).
    ChainOnly,
    /// Nothing at all (`TLSOptions.client_unsafe()`).
    Nothing,
}

/// The engine's TLS options, as plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub verify: Verify,
    /// PEM certificates to trust instead of the default roots.
    pub trusted: Option<Vec<u8>>,
    /// Name to verify (and send as SNI) instead of the URL host.
    pub name_override: Option<String>,
    /// PEM bundle replacing the built-in roots (the project setting).
    pub bundle_override: Option<Vec<u8>>,
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(ring::default_provider()))
        .clone()
}

/// The config for `settings`. The common case (default roots, full checks) is built once.
pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, WsError> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let default_case = settings.trusted.is_none() && settings.bundle_override.is_none();
    if default_case && settings.verify == Verify::Full {
        if let Some(c) = DEFAULT.get() {
            return Ok(c.clone());
        }
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WsError::Tls(format!("TLS setup: {e}")))?;
    let config = match settings.verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything))
            .with_no_client_auth(),
        Verify::Full | Verify::ChainOnly => {
            let (roots, pinned) = roots(settings)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| WsError::Tls(format!("TLS setup: {e}")))?;
            let check_name = settings.verify == Verify::Full;
            if check_name && pinned.is_empty() {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            } else {
                let verifier = Arc::new(Checked {
                    webpki,
                    pinned,
                    check_name,
                });
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            }
        }
    };
    let config = Arc::new(config);
    if default_case && settings.verify == Verify::Full {
        let _ = DEFAULT.set(config.clone());
    }
    Ok(config)
}

/// The name to verify and, for DNS names, to send as SNI (none for IP addresses).
pub fn server_name(host: &str, settings: &TlsSettings) -> Result<ServerName<'static>, WsError> {
    let name = settings
        .name_override
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(host);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_owned())
        .map_err(|_| WsError::Tls(format!("\"{name}\" is not a valid TLS server name")))
}

/// The roots to verify against, and the certificates the caller trusts explicitly (which may
/// also be used directly as the server's certificate).
fn roots(settings: &TlsSettings) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), WsError> {
    let pem = settings
        .trusted
        .as_ref()
        .or(settings.bundle_override.as_ref());
    let Some(pem) = pem else {
        return Ok((
            RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
            Vec::new(),
        ));
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WsError::Tls(format!("unreadable trusted certificate: {e}")))?;
    if certs.is_empty() {
        return Err(WsError::Tls(
            "the trusted certificate chain holds no certificate".into(),
        ));
    }
    let mut store = RootCertStore::empty();
    for cert in &certs {
        store
            .add(cert.clone())
            .map_err(|e| WsError::Tls(format!("unusable trusted certificate: {e}")))?;
    }
    let pinned = if settings.trusted.is_some() {
        certs
    } else {
        Vec::new()
    };
    Ok((store, pinned))
}

/// WebPKI checks, plus the two things the engine (mbedTLS) also accepts: a host name mismatch
/// when only the chain is to be checked (`client_unsafe(chain)`), and a self-signed server
/// certificate that is itself in the trusted chain (what `Crypto.generate_self_signed_certificate`
/// makes: a CA certificate, which WebPKI refuses as a server certificate). A pinned certificate
/// still has its dates and (for full checks) its host name checked.
#[derive(Debug)]
struct Checked {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    check_name: bool,
}

impl Checked {
    fn verify_pinned(
        &self,
        cert: &CertificateDer<'_>,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let bad = |e: CertificateError| rustls::Error::InvalidCertificate(e);
        let (not_before, not_after) =
            x509::validity(cert).ok_or(bad(CertificateError::BadEncoding))?;
        let now = now.as_secs();
        if now < not_before {
            return Err(bad(CertificateError::NotValidYet));
        }
        if now > not_after {
            return Err(bad(CertificateError::Expired));
        }
        if self.check_name {
            check_name(cert, name)?;
        }
        Ok(ServerCertVerified::assertion())
    }
}

/// WebPKI's name check (subjectAltName), with mbedTLS's fallback to the subject's common name
/// when the certificate has no subjectAltName at all.
fn check_name(cert: &CertificateDer<'_>, name: &ServerName<'_>) -> Result<(), rustls::Error> {
    let parsed = ParsedCertificate::try_from(cert)?;
    let Err(e) = verify_server_name(&parsed, name) else {
        return Ok(());
    };
    let no_san = x509::has_subject_alt_name(cert) == Some(false);
    let cn_matches = x509::common_name(cert).is_some_and(|cn| name_matches(&cn, &name.to_str()));
    if no_san && cn_matches {
        Ok(())
    } else {
        Err(e)
    }
}

/// Host name matching as for a certificate name: case-insensitive, and a leading `*.` matches
/// exactly one label.
fn name_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            // The chain is good (WebPKI checks it before the name); only the name is in doubt.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name || check_name(end_entity, server_name).is_ok() => {
                Ok(ServerCertVerified::assertion())
            }
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                self.verify_pinned(end_entity, server_name, now)
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(m, c, d)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(m, c, d)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `TLSOptions.client_unsafe()`: no certificate check at all (handshake signatures are still
/// checked, so the session is at least bound to the presented key).
#[derive(Debug)]
struct AcceptAnything;

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &provider().signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &provider().signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS failure in words a game developer can act on.
pub fn describe(e: &rustls::Error, name: &ServerName<'_>) -> String {
    use rustls::Error as E;
    let name = name.to_str();
    match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the certificate of {name} has expired")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the certificate of {name} is not valid yet")
            }
            CertificateError::UnknownIssuer => format!(
                "the certificate of {name} is not signed by a trusted authority (unknown issuer; pass TLSOptions.client(trusted_chain) for a private CA)"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "the certificate is not valid for host name {name} (wrong host; TLSOptions.client(chain, common_name_override) names the expected host)"
            ),
            other if format!("{other:?}").contains("CaUsedAsEndEntity") => format!(
                "the certificate of {name} is self-signed and not trusted (pass it with TLSOptions.client(certificate))"
            ),
            other => format!("the certificate of {name} was rejected: {other:?}"),
        },
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            format!("{name} did not answer with TLS ({e}); is it a plain ws:// server?")
        }
        E::AlertReceived(alert) => format!("{name} refused the TLS handshake (alert {alert:?})"),
        other => format!("TLS with {name} failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names_match_like_mbedtls() {
        assert!(name_matches("LocalHost", "localhost"));
        assert!(name_matches("*.example.com", "a.example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("example.com", "example.org"));
    }

    #[test]
    fn a_godot_made_certificate_is_checked_by_its_common_name() {
        let der = CertificateDer::from_pem_slice(x509::tests::GODOT_PEM.as_bytes()).unwrap();
        assert!(check_name(&der, &ServerName::try_from("localhost").unwrap()).is_ok());
        assert!(check_name(&der, &ServerName::try_from("example.com").unwrap()).is_err());
        let with_san = CertificateDer::from_pem_slice(x509::tests::PINNED_PEM.as_bytes()).unwrap();
        assert!(check_name(&with_san, &ServerName::try_from("pinned.test").unwrap()).is_ok());
        assert!(check_name(&with_san, &ServerName::try_from("other.test").unwrap()).is_err());
    }
}
