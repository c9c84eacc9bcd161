//! URLs a buyer's system gives us to send to: the invoice URL an administrator sets, the
//! BrowserFormPost URL a PunchOutSetupRequest carries. Invoices and carts carry prices,
//! purchase order numbers and the requester: they go over TLS, to a named host, never with
//! credentials in the URL, and never to the machine that sends them. The one exception is a
//! local deployment ([`crate::Config::is_local`]), where the stand-in buyer listens on
//! 127.0.0.1 over plain http: nothing leaves the host there.
//!
//! URLs are read with the `url` crate (the WHATWG URL Standard, as browsers read them), so
//! `http://127.0.0.1.evil.example`, `https://user:pw@host`, `https://0x7f.1/` and
//! `https://[::ffff:127.0.0.1]/` are seen for what they are.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Whether the URL's host is this machine (or link-local, where cloud metadata and the Lambda
/// runtime API answer): `localhost` and `*.localhost` (RFC 6761), 127.0.0.0/8, `::1`, the
/// unspecified addresses, 169.254.0.0/16, fe80::/10, and IPv4-mapped forms of those.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => local_v4(ip),
        Some(Host::Ipv6(ip)) => local_v6(ip),
        None => false,
    }
}

fn local_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || ip.is_link_local()
}

fn local_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || (ip.segments()[0] & 0xffc0) == 0xfe80
        || ip.to_ipv4_mapped().is_some_and(local_v4)
}

/// Checks a URL we are to send a buyer's documents to. `local`: this is a local deployment,
/// where plain http is accepted for a loopback host (and only there). The error says what is
/// wrong, without repeating the URL (it might carry a password).
pub fn buyer_url(text: &str, local: bool) -> Result<Url, &'static str> {
    let url = Url::parse(text.trim()).map_err(|_| "is not an absolute URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password");
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err(if local {
            "must be an https:// URL (or http:// to 127.0.0.1 or localhost on a local stack)"
        } else {
            "must be an https:// URL"
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" if !loopback || local => Ok(url),
        "http" if loopback && local => Ok(url),
        "https" | "http" if loopback => {
            Err("names this machine or a link-local address, which only a local stack may use")
        }
        _ if local => {
            Err("must be an https:// URL (or http:// to 127.0.0.1 or localhost on a local stack)")
        }
        _ => Err("must be an https:// URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployed_stacks_send_over_tls_to_named_hosts_only() {
        for good in [
            "https://acme.coupahost.com/cxml/invoices",
            "HTTPS://buyer.example/inv",
            " https://buyer.example:8443/a?b=c ",
            "https://127.0.0.1.nip.io/inv",
        ] {
            assert!(buyer_url(good, false).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://buyer.example/inv", "https"),
            ("ftp://buyer.example/inv", "https"),
            ("https://", "URL"),
            ("https:// x", "URL"),
            ("buyer.example/inv", "URL"),
            ("https://user:pw@buyer.example/inv", "password"),
            ("https://user@buyer.example/inv", "user name"),
            ("https://127.0.0.1/inv", "this machine"),
            ("https://localhost:9100/inv", "this machine"),
            ("https://api.localhost/inv", "this machine"),
            ("https://0x7f.1/inv", "this machine"),
            ("https://2130706433/inv", "this machine"),
            ("https://[::1]/inv", "this machine"),
            ("https://[::ffff:127.0.0.1]/inv", "this machine"),
            ("https://169.254.169.254/latest", "link-local"),
            ("https://0.0.0.0/", "this machine"),
            ("http://127.0.0.1:9100/invoices", "this machine"),
        ] {
            let e = buyer_url(bad, false).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_local_stack_also_takes_http_on_loopback() {
        for good in [
            "http://127.0.0.1:9100/invoices",
            "http://localhost:9100/punchout/checkout/4",
            "https://127.0.0.1:9100/x",
            "https://buyer.example/inv",
        ] {
            assert!(buyer_url(good, true).is_ok(), "{good}");
        }
        for bad in [
            "http://buyer.example/inv",
            "http://127.0.0.1.evil.example/inv",
            "http://user:pw@127.0.0.1:9100/inv",
        ] {
            assert!(buyer_url(bad, true).is_err(), "{bad}");
        }
    }
}
