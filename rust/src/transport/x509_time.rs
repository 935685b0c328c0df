//! Reads the validity period of an X.509 certificate (RFC 5280 section 4.1.2.5), which is all
//! we need to check a pinned self-signed certificate's dates. A minimal DER walk: any surprise
//! in the structure returns `None`, and the caller then rejects the certificate.

/// `(not_before, not_after)` in seconds since the Unix epoch.
pub fn validity(der: &[u8]) -> Option<(u64, u64)> {
    let (cert, _) = element(der, 0x30)?; // Certificate
    let (mut tbs, _) = element(cert, 0x30)?; // TBSCertificate
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs, 0xa0)?.1; // [0] version
    }
    for _ in 0..3 {
        tbs = skip(tbs)?; // serialNumber, signature, issuer
    }
    let (validity, _) = element(tbs, 0x30)?;
    let (not_before, rest) = time(validity)?;
    let (not_after, _) = time(rest)?;
    Some((not_before, not_after))
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
mod tests {
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
