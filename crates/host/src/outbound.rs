//! `allowed_outbound_hosts`: which outbound URLs a component may call.
//!
//! Patterns are `scheme://host[:port]` as in Spin: `*` for any scheme, host or port,
//! `*.example.com` for sub-domains, a port range `8000..8010`, and the host `self`
//! for the application itself. Without a port, the scheme's default port is meant.
//! Service chaining (`http://<component>.spin.internal`) must be allowed like any
//! other host. An entry may be a template over application variables
//! (`"{{ base_url }}"`); it is resolved at start-up, then parsed like a literal.

use anyhow::{Result, bail};

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    Subdomains(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Range(u16, u16),
    SchemeDefault,
}

impl AllowedHost {
    /// Parses one entry (`scheme://host[:port]`), refusing one without a scheme.
    pub fn parse(pattern: &str) -> Result<Self> {
        let Some((scheme, rest)) = pattern.split_once("://") else {
            bail!(
                "allowed_outbound_hosts entry '{pattern}' has no scheme: write e.g. 'https://{pattern}'"
            );
        };
        if scheme.is_empty() {
            bail!("allowed_outbound_hosts entry '{pattern}': empty scheme");
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            bail!("allowed_outbound_hosts entry '{pattern}' may not contain a path");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let host = match host {
            "" => bail!("allowed_outbound_hosts entry '{pattern}': empty host"),
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomains(h[2..].to_ascii_lowercase()),
            h if h.contains('*') => {
                bail!(
                    "allowed_outbound_hosts entry '{pattern}': '*' must be the whole host or its first label"
                )
            }
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            None => PortPattern::SchemeDefault,
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((lo, hi)) => {
                    PortPattern::Range(parse_port(pattern, lo)?, parse_port(pattern, hi)?)
                }
                None => {
                    let p = parse_port(pattern, p)?;
                    PortPattern::Range(p, p)
                }
            },
        };
        Ok(Self {
            scheme: (scheme != "*").then(|| scheme.to_ascii_lowercase()),
            host,
            port,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed. `host` is already
    /// `self` when the request targets the application itself.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        if self.scheme.as_ref().is_some_and(|s| *s != scheme) {
            return false;
        }
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomains(parent) => host
                .strip_suffix(parent.as_str())
                .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(lo, hi) => (lo..=hi).contains(&port),
            PortPattern::SchemeDefault => default_port(&scheme) == Some(port),
        };
        host_ok && port_ok
    }
}

/// The domain of service-chaining hosts.
pub const CHAINING_DOMAIN: &str = "spin.internal";

/// Whether an entry asks for local service chaining, as Spin's loader decides it:
/// a literal `<component>.spin.internal` host or exactly `*.spin.internal`.
/// Templates are not resolved for this check (Spin does not look into them).
pub fn is_chaining_pattern(pattern: &str) -> bool {
    if is_template(pattern) {
        return false;
    }
    match AllowedHost::parse(pattern) {
        Ok(allowed) => match &allowed.host {
            HostPattern::Exact(h) => h
                .strip_suffix(CHAINING_DOMAIN)
                .is_some_and(|p| p.ends_with('.')),
            HostPattern::Subdomains(parent) => parent == CHAINING_DOMAIN,
            HostPattern::Any => false,
        },
        Err(_) => false,
    }
}

/// Whether an entry is a `{{ variable }}` template rather than a literal.
pub fn is_template(pattern: &str) -> bool {
    pattern.contains("{{")
}

/// A component's whole allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<AllowedHost>);

impl AllowList {
    /// Parses every entry (literals only).
    pub fn parse(patterns: &[String]) -> Result<Self> {
        Self::resolve(patterns, |p| Ok(p.to_string()))
    }

    /// Renders template entries with `render`, then parses every entry.
    pub fn resolve(patterns: &[String], render: impl Fn(&str) -> Result<String>) -> Result<Self> {
        patterns
            .iter()
            .map(|p| {
                if is_template(p) {
                    let rendered = render(p)?;
                    AllowedHost::parse(&rendered).map_err(|e| {
                        anyhow::anyhow!(
                            "allowed_outbound_hosts entry '{p}' resolved to '{rendered}': {e:#}"
                        )
                    })
                } else {
                    AllowedHost::parse(p)
                }
            })
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }

    /// Whether any entry allows the target.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0.iter().any(|a| a.allows(scheme, host, port))
    }
}

/// The default port of a scheme.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_port(pattern: &str, p: &str) -> Result<u16> {
    p.parse().map_err(|_| {
        anyhow::anyhow!("allowed_outbound_hosts entry '{pattern}': invalid port '{p}'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(pattern: &str, scheme: &str, host: &str, port: u16) -> bool {
        AllowedHost::parse(pattern)
            .expect("valid")
            .allows(scheme, host, port)
    }

    #[test]
    fn exact_host_uses_scheme_default_port() {
        assert!(allows(
            "https://api.example.com",
            "https",
            "api.example.com",
            443
        ));
        assert!(!allows(
            "https://api.example.com",
            "https",
            "api.example.com",
            8443
        ));
        assert!(!allows(
            "https://api.example.com",
            "http",
            "api.example.com",
            80
        ));
        assert!(!allows("https://api.example.com", "https", "evil.com", 443));
    }

    #[test]
    fn wildcards() {
        assert!(allows("*://*:*", "http", "anything", 1));
        assert!(allows(
            "https://*.example.com",
            "https",
            "a.example.com",
            443
        ));
        assert!(allows(
            "https://*.example.com",
            "https",
            "a.b.example.com",
            443
        ));
        assert!(!allows(
            "https://*.example.com",
            "https",
            "example.com",
            443
        ));
        assert!(!allows(
            "https://*.example.com",
            "https",
            "badexample.com",
            443
        ));
        assert!(allows("http://localhost:*", "http", "localhost", 9999));
        assert!(allows(
            "http://localhost:8000..8010",
            "http",
            "localhost",
            8005
        ));
        assert!(!allows(
            "http://localhost:8000..8010",
            "http",
            "localhost",
            8011
        ));
        assert!(allows(
            "http://*.spin.internal",
            "http",
            "billing.spin.internal",
            80
        ));
    }

    #[test]
    fn chaining_patterns_are_recognised_as_spin_does() {
        assert!(is_chaining_pattern("http://billing.spin.internal"));
        assert!(is_chaining_pattern("http://*.spin.internal"));
        assert!(!is_chaining_pattern("http://*.sub.spin.internal"));
        assert!(!is_chaining_pattern("http://spin.internal"));
        assert!(!is_chaining_pattern("*://*:*"));
        assert!(!is_chaining_pattern("https://api.example.com"));
        assert!(!is_chaining_pattern("{{ base_url }}"));
    }

    #[test]
    fn template_entries_resolve_before_they_are_parsed() {
        let patterns = vec![
            "{{ base_url }}".to_string(),
            "https://api.example.com".to_string(),
        ];
        let list = AllowList::resolve(&patterns, |t| {
            assert_eq!(t, "{{ base_url }}");
            Ok("http://127.0.0.1:3941".to_string())
        })
        .expect("resolves");
        assert!(list.allows("http", "127.0.0.1", 3941));
        assert!(!list.allows("http", "127.0.0.1", 3000));
        assert!(list.allows("https", "api.example.com", 443));
        let bad = AllowList::resolve(&patterns, |_| Ok("127.0.0.1:3941".to_string()));
        let err = format!("{:#}", bad.expect_err("no scheme"));
        assert!(err.contains("resolved to '127.0.0.1:3941'"), "{err}");
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "example.com",
            "https://",
            "https://ex*ample.com",
            "https://a.com:x",
            "https://a.com/path",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
    }
}
