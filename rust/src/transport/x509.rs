//! Reads the few fields of an X.509 certificate (RFC 5280) that WebPKI does not give us and the
//! engine's mbedTLS uses: the validity period of a pinned self-signed certificate, and the
//! subject's common name for certificates without a subjectAltName (which is what Godot's own
//! `Crypto.generate_self_signed_certificate` makes). A minimal DER walk: any surprise in the
//! structure returns `None`, and the caller then rejects the certificate.

/// The TBSCertificate fields after the version: serial, signature, issuer, validity, subject,
/// subjectPublicKeyInfo, then optional [1], [2] and [3] (extensions).
fn tbs_fields(der: &[u8]) -> Option<&[u8]> {
    let (cert, _) = element(der, 0x30)?; // Certificate
    let (mut tbs, _) = element(cert, 0x30)?; // TBSCertificate
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs, 0xa0)?.1; // [0] version
    }
    Some(tbs)
}

/// `(not_before, not_after)` in seconds since the Unix epoch.
pub fn validity(der: &[u8]) -> Option<(u64, u64)> {
    let mut tbs = tbs_fields(der)?;
    for _ in 0..3 {
        tbs = skip(tbs)?; // serialNumber, signature, issuer
    }
    let (validity, _) = element(tbs, 0x30)?;
    let (not_before, rest) = time(validity)?;
    let (not_after, _) = time(rest)?;
    Some((not_before, not_after))
}

const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03]; // 2.5.4.3
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11]; // 2.5.29.17

/// The subject's (last) common name, when it is a string type we can read.
pub fn common_name(der: &[u8]) -> Option<String> {
    let mut tbs = tbs_fields(der)?;
    for _ in 0..4 {
        tbs = skip(tbs)?; // serialNumber, signature, issuer, validity
    }
    let (mut rdns, _) = element(tbs, 0x30)?; // subject: SEQUENCE OF SET OF AttributeTypeAndValue
    let mut found = None;
    while !rdns.is_empty() {
        let (mut set, rest) = element(rdns, 0x31)?;
        rdns = rest;
        while !set.is_empty() {
            let (atv, rest) = element(set, 0x30)?;
            set = rest;
            let (oid, value) = element(atv, 0x06)?;
            if oid == OID_COMMON_NAME {
                let tag = *value.first()?;
                let (text, _) = element(value, tag)?;
                // UTF8String, PrintableString, TeletexString (read as Latin-1 subset), IA5String.
                if matches!(tag, 0x0c | 0x13 | 0x14 | 0x16) {
                    found = std::str::from_utf8(text).ok().map(str::to_owned);
                }
            }
        }
    }
    found
}

/// Whether the certificate has a subjectAltName extension (`None` if it cannot be read).
pub fn has_subject_alt_name(der: &[u8]) -> Option<bool> {
    let mut tbs = tbs_fields(der)?;
    for _ in 0..6 {
        tbs = skip(tbs)?; // up to and including subjectPublicKeyInfo
    }
    while let Some(&tag) = tbs.first() {
        let (body, rest) = element(tbs, tag)?;
        tbs = rest;
        if tag != 0xa3 {
            continue; // [1] issuerUniqueID, [2] subjectUniqueID
        }
        let (mut extensions, _) = element(body, 0x30)?;
        while !extensions.is_empty() {
            let (ext, rest) = element(extensions, 0x30)?;
            extensions = rest;
            if element(ext, 0x06)?.0 == OID_SUBJECT_ALT_NAME {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// The contents of the element at the start of `input` with tag `tag`, and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

fn skip(input: &[u8]) -> Option<&[u8]> {
    let tag = *input.first()?;
    element(input, tag).map(|(_, rest)| rest)
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(input: &[u8]) -> Option<(u64, &[u8])> {
    let tag = *input.first()?;
    let (text, rest) = element(input, tag)?;
    let digits = |s: &[u8]| -> Option<u64> {
        s.iter().try_fold(0u64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
        })
    };
    let (year, rest_text) = match (tag, text.len()) {
        (0x17, 13) => {
            let yy = digits(&text[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (0x18, 15) => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if rest_text.last() != Some(&b'Z') {
        return None;
    }
    let f = |i: usize| digits(&rest_text[i..i + 2]);
    let (month, day, hour, min, sec) = (f(0)?, f(2)?, f(4)?, f(6)?, f(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some((
        days_from_civil(year, month, day)? * 86400 + hour * 3600 + min * 60 + sec,
        rest,
    ))
}

/// Days from 1970-01-01 to the given date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = i64::try_from(y).ok()? - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::try_from(m).ok()?;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::try_from(d).ok()? - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146097 + doe - 719468).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11017));
        assert_eq!(days_from_civil(2026, 11, 25), Some(20782));
    }

    /// A self-signed EC certificate made with `openssl req -x509 -days 3650` (CA:TRUE, as
    /// Godot's `Crypto.generate_self_signed_certificate` makes them).
    pub const PINNED_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBmTCCAT+gAwIBAgIUc1H0D+Lgi7Z+mp0ZweLf84VrinwwCgYIKoZIzj0EAwIw\nFjEUMBIGA1UEAwwLcGlubmVkLnRlc3QwHhcNMjYxMTI1MDMzNzQwWhcNMzYxMTIy\nMDMzNzQwWjAWMRQwEgYDVQQDDAtwaW5uZWQudGVzdDBZMBMGByqGSM49AgEGCCqG\nSM49AwEHA0IABDsh2W3GCH3n7jB9TXgp48G8ZVa9f9cxDRKb5j4Ls3FoeBCOYpNu\niCYHeplLyib1C5AREOWDIWnrOg9KyKLFZ4SjazBpMB0GA1UdDgQWBBS+tPywyvj4\nb0Sdhvmlci6w8I24BzAfBgNVHSMEGDAWgBS+tPywyvj4b0Sdhvmlci6w8I24BzAP\nBgNVHRMBAf8EBTADAQH/MBYGA1UdEQQPMA2CC3Bpbm5lZC50ZXN0MAoGCCqGSM49\nBAMCA0gAMEUCICpTMQNMdeaX/evW8cv3ifrjntH/3WnFgEPYVIjfivbvAiEA+W5w\nRD9wOI1jew6tYVD6ptxaHQTMPpNUpSMufNusqEc=\n-----END CERTIFICATE-----";

    #[test]
    fn reads_a_real_certificate() {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let der = CertificateDer::from_pem_slice(PINNED_PEM.as_bytes()).unwrap();
        assert_eq!(validity(&der), Some((1795577860, 2110937860)));
        assert_eq!(common_name(&der).as_deref(), Some("pinned.test"));
        assert_eq!(has_subject_alt_name(&der), Some(true));
    }

    /// What Godot 4.6's `Crypto.generate_self_signed_certificate(key, "CN=localhost,O=Godot,C=IT")` made.
    pub const GODOT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIDBjCCAe6gAwIBAgIUf0O+Cn0IBKpfH1eEwqemWzK91ncwDQYJKoZIhvcNAQEL\nBQAwMTESMBAGA1UEAwwJbG9jYWxob3N0MQ4wDAYDVQQKDAVHb2RvdDELMAkGA1UE\nBhMCSVQwHhcNMTQwMTAxMDAwMDAwWhcNMzQwMTAxMDAwMDAwWjAxMRIwEAYDVQQD\nDAlsb2NhbGhvc3QxDjAMBgNVBAoMBUdvZG90MQswCQYDVQQGEwJJVDCCASIwDQYJ\nKoZIhvcNAQEBBQADggEPADCCAQoCggEBALwaO0CQCA1VLsQjYrhVr7JMCSCSiwYy\n96Dh0+Ma25xnCZIOzGE71ixWCiJJb2YPAE3L7PMVpGEse/uWcVoAMg/+G0N6Xu1j\nMTG13poouC4O67EuymBipkOxs6TQixN6oN5dCVjJ2Jo4fGKNytJrK1+bL8OzqKZR\nGu7oLGuYH/2etWJ5Fpb80uQhVjcOIv2dEgArQFbhhJ6atw7zO/6QvYiLdbNga2wR\na3T4V3P1WagUYdLsZbPA1EtITC6IPkg4lNQJwf9wrF7RxBnDxB5qhoh9TT+FR7j2\niuoE6SdZGa22nD2ji9kQyP5KEVEOSt43xUr3s9qr6NhISOZos2WGncMCAwEAAaMW\nMBQwEgYDVR0TAQH/BAgwBgEB/wIBADANBgkqhkiG9w0BAQsFAAOCAQEAsgYf9Bj1\nFwH2m9x70cwvAKoc+WCGKqV0kVa3ueZtkviLyWyC6XOnRnfsfAlSVYRJ3a5u99FM\ndaOucnxGC2dvXFHOJ0S6tNm2KAhJfS1DdH86Vwb+RntKBkTXEQ9HwVvE8reZM2c/\n3vaxDAEEPAj5c4w6L/gm9eDUaS6UQMLOV7UhU0/1Yc/CHKL1eSJMqXyjgS1+NnQ6\nJHWwoZ2v33qHdjF+xHBkQJKYNRoCF0UknCNeaj5q5kkTGE37JStUwBeOOU2ziO67\nB1wIQe6V5rN8BER06YdvD7NNwHz+yZZIebFItK9ZwneycSR7ccsqN4XXThAkVBqy\nmvJ0ui0I8TtnuQ==\n-----END CERTIFICATE-----";

    #[test]
    fn reads_a_godot_made_certificate() {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let der = CertificateDer::from_pem_slice(GODOT_PEM.as_bytes()).unwrap();
        assert_eq!(common_name(&der).as_deref(), Some("localhost"));
        assert_eq!(has_subject_alt_name(&der), Some(false));
        assert!(validity(&der).is_some());
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        // SEQUENCE { UTCTime 260101000000Z, GeneralizedTime 20500101000000Z }
        let mut v = vec![0x17, 13];
        v.extend(b"260101000000Z");
        v.extend([0x18, 15]);
        v.extend(b"20500101000000Z");
        let (a, rest) = time(&v).unwrap();
        let (b, _) = time(rest).unwrap();
        assert_eq!(a, days_from_civil(2026, 1, 1).unwrap() * 86400);
        assert_eq!(b, days_from_civil(2050, 1, 1).unwrap() * 86400);
        assert!(time(&[0x17, 3, b'1', b'2', b'Z']).is_none());
        assert!(
            validity(&[0x30, 0x05, 1, 2]).is_none(),
            "truncated input is refused, not read past"
        );
    }
}
