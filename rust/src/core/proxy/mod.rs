//! Clients behind an HTTP proxy: which proxy a URL goes through, and the `CONNECT` exchange that
//! opens the tunnel. Pure functions; the transport sends the bytes and the session drives them.
//!
//! A proxy comes from the class's setters (`set_http_proxy` for `ws://`, `set_https_proxy` for
//! `wss://`, as the engine's `HTTPClient` names them) or, only when the game asks for it, from
//! the environment variables `ws_proxy`/`http_proxy` (`ws://`) and `wss_proxy`/`https_proxy`
//! (`wss://`), lower case before upper case, with `no_proxy`/`NO_PROXY` listing hosts that
//! bypass them. A setter's proxy always wins over the environment, and `no_proxy` applies only
//! to proxies from the environment (it is the environment's own exception list).

pub mod address;
mod base64;
pub mod exchange;
pub mod no_proxy;

pub use address::{Credentials, Proxy};

use crate::core::error::WsError;
use crate::core::url::Target;

/// The proxy settings of a peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// For `ws://` URLs (`set_http_proxy`).
    pub http: Option<Proxy>,
    /// For `wss://` URLs (`set_https_proxy`).
    pub https: Option<Proxy>,
    /// Whether the environment variables apply when no proxy is set for the URL's scheme.
    pub from_environment: bool,
}

/// Environment variables consulted for a URL, in order: the first one set (and not empty) wins.
pub fn variables(secure: bool) -> [&'static str; 4] {
    if secure {
        ["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY"]
    } else {
        ["ws_proxy", "WS_PROXY", "http_proxy", "HTTP_PROXY"]
    }
}

/// The proxy to reach `target` through, if any. `env` looks up an environment variable (the
/// session passes the process environment; tests pass a table). Fails only for an environment
/// proxy that cannot be used (not `http://`, a line break, no host): silently going direct
/// instead would bypass a proxy the user meant to use.
pub fn route(
    settings: &ProxySettings,
    target: &Target,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, WsError> {
    let set = if target.secure {
        &settings.https
    } else {
        &settings.http
    };
    if set.is_some() || !settings.from_environment {
        return Ok(set.clone());
    }
    let value = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let Some((name, url)) = variables(target.secure)
        .into_iter()
        .find_map(|name| value(name).map(|v| (name, v)))
    else {
        return Ok(None);
    };
    let no_proxy = value("no_proxy")
        .or_else(|| value("NO_PROXY"))
        .unwrap_or_default();
    if no_proxy::bypasses(&no_proxy, &target.host, target.port) {
        return Ok(None);
    }
    Proxy::from_url(&url).map(Some).map_err(|e| match e {
        WsError::InvalidArgument(why) => {
            WsError::InvalidArgument(format!("environment variable {name}: {why}"))
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::url;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn routed(settings: &ProxySettings, url_text: &str, vars: &[(&str, &str)]) -> Option<String> {
        route(settings, &url::parse(url_text).unwrap(), &env(vars))
            .unwrap()
            .map(|p| p.to_string())
    }

    fn setters(http: &str, https: &str, from_environment: bool) -> ProxySettings {
        ProxySettings {
            http: Proxy::from_setter(http, 3128).unwrap(),
            https: Proxy::from_setter(https, 3129).unwrap(),
            from_environment,
        }
    }

    #[test]
    fn setters_pick_the_proxy_by_scheme() {
        let s = setters("plain", "secure", false);
        assert_eq!(routed(&s, "ws://h/", &[]).as_deref(), Some("plain:3128"));
        assert_eq!(routed(&s, "wss://h/", &[]).as_deref(), Some("secure:3129"));
        let s = setters("plain", "", false);
        assert_eq!(routed(&s, "wss://h/", &[]), None);
        assert_eq!(routed(&ProxySettings::default(), "ws://h/", &[]), None);
    }

    #[test]
    fn the_environment_applies_only_when_asked_and_never_over_a_setter() {
        let vars = [
            ("http_proxy", "http://envproxy:8080"),
            ("https_proxy", "envsecure:8443"),
        ];
        assert_eq!(routed(&setters("", "", false), "ws://h/", &vars), None);
        let s = setters("", "", true);
        assert_eq!(
            routed(&s, "ws://h/", &vars).as_deref(),
            Some("envproxy:8080")
        );
        assert_eq!(
            routed(&s, "wss://h/", &vars).as_deref(),
            Some("envsecure:8443")
        );
        let s = setters("plain", "", true);
        assert_eq!(routed(&s, "ws://h/", &vars).as_deref(), Some("plain:3128"));
        // no_proxy is the environment's exception list, not the setters'.
        let with_no_proxy = [("no_proxy", "*"), ("http_proxy", "envproxy:1")];
        assert_eq!(
            routed(&s, "ws://h/", &with_no_proxy).as_deref(),
            Some("plain:3128")
        );
    }

    #[test]
    fn variable_order_ws_before_http_lower_before_upper() {
        let s = setters("", "", true);
        let vars = [
            ("ws_proxy", "ws-lower:1"),
            ("WS_PROXY", "ws-upper:1"),
            ("http_proxy", "http-lower:1"),
            ("HTTP_PROXY", "http-upper:1"),
        ];
        for skip in 0..4 {
            let left: Vec<_> = vars[skip..].to_vec();
            let want = left[0].1;
            assert_eq!(routed(&s, "ws://h/", &left).as_deref(), Some(want));
        }
        let vars = [
            ("WSS_PROXY", "wss-upper:1"),
            ("https_proxy", "https-lower:1"),
        ];
        assert_eq!(
            routed(&s, "wss://h/", &vars).as_deref(),
            Some("wss-upper:1")
        );
        // Empty counts as unset; the other scheme's variables never apply.
        let vars = [
            ("ws_proxy", " "),
            ("HTTPS_PROXY", "secure:1"),
            ("http_proxy", "plain:1"),
        ];
        assert_eq!(routed(&s, "ws://h/", &vars).as_deref(), Some("plain:1"));
        assert_eq!(routed(&s, "ws://h/", &[("https_proxy", "x:1")]), None);
    }

    #[test]
    fn no_proxy_is_honoured_in_either_case() {
        let s = setters("", "", true);
        let base = ("http_proxy", "envproxy:8080");
        assert_eq!(
            routed(&s, "ws://localhost:9/", &[base, ("no_proxy", "localhost")]),
            None
        );
        assert_eq!(
            routed(&s, "ws://a.internal/", &[base, ("NO_PROXY", ".internal")]),
            None
        );
        // Lower case wins over upper case, as for the proxy variables.
        let vars = [base, ("no_proxy", "other"), ("NO_PROXY", "localhost")];
        assert_eq!(
            routed(&s, "ws://localhost/", &vars).as_deref(),
            Some("envproxy:8080")
        );
        assert_eq!(
            routed(&s, "ws://example.com/", &[base, ("no_proxy", "localhost")]).as_deref(),
            Some("envproxy:8080")
        );
    }

    #[test]
    fn an_unusable_environment_proxy_is_an_error_naming_the_variable() {
        let s = setters("", "", true);
        let t = url::parse("wss://h/").unwrap();
        match route(&s, &t, &env(&[("https_proxy", "socks5://s:1080")])) {
            Err(WsError::InvalidArgument(why)) => assert!(why.contains("https_proxy"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(route(&s, &t, &env(&[("wss_proxy", "http://p:1\r\nX: y")])).is_err());
        // ... unless no_proxy exempts the host anyway.
        let vars = [("https_proxy", "socks5://s:1080"), ("no_proxy", "h")];
        assert_eq!(route(&s, &t, &env(&vars)), Ok(None));
    }
}
