//! The HTML layout of the catalog pages: one small inline stylesheet, no external assets,
//! no JavaScript needed (one inline script only auto-submits the cart). Everything that
//! comes from data goes through [`escape_html`].

use cxml::Money;

use crate::http::{HttpReply, escape_html};
use crate::model::ProcurementSystem;

/// What the page frame shows around the content.
#[derive(Debug, Clone, Default)]
pub struct Frame<'a> {
    /// The session token, when there is a session: the search form carries it.
    pub token: Option<&'a str>,
    /// The catalog URL the search form goes to.
    pub catalog_url: &'a str,
    /// The query to show back in the search box.
    pub query: &'a str,
    /// A test-mode session: the banner says nothing is subscribed or invoiced.
    pub test: bool,
    /// The procurement system the user came from, named in the header.
    pub system: Option<ProcurementSystem>,
    /// Where "Return to <system>" posts (empty cart), when there is a session.
    pub return_url: Option<&'a str>,
}

pub fn system_name(system: ProcurementSystem) -> &'static str {
    match system {
        ProcurementSystem::Coupa => "Coupa",
        ProcurementSystem::Ariba => "SAP Ariba",
    }
}

const STYLE: &str = r#"
:root{color-scheme:light;--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--brand:#0b5cad;--brand-dark:#084a8c;--warn-bg:#fff8c5;--warn-ink:#3b2e00;--bad:#a40e26}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--brand)}
a:hover{color:var(--brand-dark)}
:focus-visible{outline:3px solid var(--brand);outline-offset:2px}
.skip{position:absolute;left:.5rem;top:-3rem;background:#fff;padding:.5rem .75rem;border:2px solid var(--brand);border-radius:6px;z-index:10}
.skip:focus{top:.5rem}
header.site{background:#fff;border-bottom:1px solid var(--line)}
.bar{max-width:64rem;margin:0 auto;padding:.75rem 1rem;display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:center;justify-content:space-between}
.brand{font-weight:700;font-size:1.125rem;color:var(--ink);text-decoration:none}
.from{color:var(--muted);font-size:.875rem}
form.search{display:flex;gap:.5rem;align-items:center;flex:1 1 20rem;max-width:32rem}
form.search label{font-size:.875rem;color:var(--muted);white-space:nowrap}
input[type=search]{flex:1;min-width:0;font:inherit;padding:.45rem .6rem;border:1px solid #8c959f;border-radius:6px;background:#fff;color:var(--ink)}
button,.button{font:inherit;font-weight:600;cursor:pointer;border-radius:6px;padding:.5rem 1rem;border:1px solid var(--brand);background:var(--brand);color:#fff;text-decoration:none;display:inline-block}
button:hover,.button:hover{background:var(--brand-dark);color:#fff}
button.secondary{background:#fff;color:var(--brand)}
button.secondary:hover{background:#eef4fb;color:var(--brand-dark)}
.test-banner{margin:0;background:var(--warn-bg);color:var(--warn-ink);border-bottom:1px solid #d4a72c;padding:.5rem 1rem;text-align:center}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 3rem}
main:focus{outline:none}
h1{font-size:1.75rem;line-height:1.25;margin:.25rem 0 1rem}
h2{font-size:1.2rem;margin:0 0 .25rem}
.muted{color:var(--muted)}
ul.cards{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:1rem}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1rem 1.1rem;display:flex;flex-direction:column;gap:.35rem}
.card h2 a{color:var(--ink);text-decoration:none}
.card h2 a:hover{text-decoration:underline}
.tag{display:inline-block;font-size:.8rem;font-weight:600;color:#0a3069;background:#ddf4ff;border-radius:999px;padding:.05rem .6rem}
.price{font-weight:600;margin-top:auto}
.panel{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1.25rem;margin:0 0 1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
.notice{border-left:4px solid var(--brand);background:#fff;padding:.75rem 1rem;margin:0 0 1rem;border-radius:0 6px 6px 0}
.notice.bad{border-left-color:var(--bad)}
footer{max-width:64rem;margin:0 auto;padding:0 1rem 2rem;color:var(--muted);font-size:.875rem}
"#;

/// A whole HTML page as an [`HttpReply`], with headers that keep the session token out of
/// caches and other sites' logs, and a content security policy that allows only the page's
/// own inline style and script.
pub fn page(status: u16, title: &str, frame: &Frame<'_>, main: &str) -> HttpReply {
    page_with_script(status, title, frame, main, None)
}

/// [`page`] with one inline script (trusted, never built from data).
pub fn page_with_script(
    status: u16,
    title: &str,
    frame: &Frame<'_>,
    main: &str,
    script: Option<&str>,
) -> HttpReply {
    let nonce = cxml::payload::random_hex::<16>().unwrap_or_else(|_| {
        // Escaping is the defence against injection; the nonce only backs it up.
        cxml::new_payload_id("nonce").replace(['.', '@'], "")
    });
    let mut header = String::new();
    header.push_str("<header class=\"site\"><div class=\"bar\">");
    header.push_str("<div><a class=\"brand\" href=\"");
    match frame.token {
        Some(token) => header.push_str(&escape_html(&with_query(
            frame.catalog_url,
            &[("token", token)],
        ))),
        None => header.push('#'),
    }
    header.push_str("\">Software Marketplace</a>");
    if let Some(system) = frame.system {
        header.push_str(&format!(
            "<div class=\"from\">Buying through {}</div>",
            system_name(system)
        ));
    }
    header.push_str("</div>");
    if let Some(token) = frame.token {
        header.push_str(&format!(
            "<form class=\"search\" role=\"search\" method=\"get\" action=\"{action}\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <label for=\"q\">Search the catalog</label>\
             <input id=\"q\" name=\"q\" type=\"search\" value=\"{query}\" placeholder=\"Product, vendor or type\">\
             <button type=\"submit\">Search</button></form>",
            action = escape_html(frame.catalog_url),
            token = escape_html(token),
            query = escape_html(frame.query),
        ));
        if let (Some(url), Some(system)) = (frame.return_url, frame.system) {
            header.push_str(&format!(
                "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <button type=\"submit\" class=\"secondary\">Return to {} without a cart</button></form>",
                escape_html(url),
                escape_html(token),
                system_name(system)
            ));
        }
    }
    header.push_str("</div>");
    if frame.test {
        header.push_str(
            "<p class=\"test-banner\"><strong>Test mode.</strong> Everything works as usual, \
             but nothing you request here is subscribed or invoiced.</p>",
        );
    }
    header.push_str("</header>");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · Software Marketplace</title><style nonce=\"{nonce}\">{STYLE}</style></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to main content</a>{header}\
         <main id=\"main\" tabindex=\"-1\">{main}</main>\
         <footer><p>Prices are in the currency shown. Offer expiry times are in UTC.</p></footer>\
         {script}</body></html>",
        title = escape_html(title),
        script = script
            .map(|js| format!("<script nonce=\"{nonce}\">{js}</script>"))
            .unwrap_or_default(),
    );
    let mut reply = HttpReply::html(status, body);
    reply
        .headers
        .push(("referrer-policy", "no-referrer".into()));
    reply
        .headers
        .push(("x-content-type-options", "nosniff".into()));
    reply.headers.push((
        "content-security-policy",
        format!(
            "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; base-uri 'none'"
        ),
    ));
    reply
}

/// The nonce a page's inline script must carry: the one in its CSP header.
pub fn script_nonce(reply: &HttpReply) -> Option<String> {
    reply
        .headers
        .iter()
        .find(|(name, _)| *name == "content-security-policy")
        .and_then(|(_, v)| v.split("script-src 'nonce-").nth(1))
        .and_then(|rest| rest.split('\'').next())
        .map(str::to_string)
}

/// A page that explains a refusal: a heading and one paragraph (already HTML).
pub fn message_page(
    status: u16,
    title: &str,
    frame: &Frame<'_>,
    paragraph_html: &str,
) -> HttpReply {
    page(
        status,
        title,
        frame,
        &format!(
            "<h1>{}</h1><div class=\"notice{}\"><p>{paragraph_html}</p></div>",
            escape_html(title),
            if status >= 400 { " bad" } else { "" }
        ),
    )
}

/// `url?name=value&...`, values form-encoded (still needs [`escape_html`] in an attribute).
pub fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        url.to_string()
    } else {
        format!("{url}?{query}")
    }
}

/// Percent-encodes one path segment (product IDs in `/catalog/products/{id}`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded path segment; `None` if it is not valid UTF-8 once decoded.
pub fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `12,000.00 USD`: rounded to the currency's minor units, thousands grouped.
pub fn money(m: &Money) -> String {
    let text = m.rounded().amount_text();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f} {}", m.currency),
        None => format!("{sign}{grouped} {}", m.currency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxml::Currency;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_grouped_and_rounded() {
        assert_eq!(
            money(&Money::new(dec!(12000), Currency::USD)),
            "12,000.00 USD"
        );
        assert_eq!(
            money(&Money::new(dec!(999.995), Currency::USD)),
            "1,000.00 USD"
        );
        assert_eq!(
            money(&Money::new(dec!(-1234567.5), Currency::EUR)),
            "-1,234,567.50 EUR"
        );
        assert_eq!(money(&Money::new(dec!(0), Currency::USD)), "0.00 USD");
    }

    #[test]
    fn segments_round_trip() {
        let id = "prod a/b%é";
        let encoded = encode_segment(id);
        assert_eq!(encoded, "prod%20a%2Fb%25%C3%A9");
        assert_eq!(decode_segment(&encoded).as_deref(), Some(id));
        assert_eq!(decode_segment("%zz").as_deref(), Some("%zz"));
        assert_eq!(decode_segment("%FF"), None);
    }

    #[test]
    fn pages_are_accessible_and_escape_their_input() {
        let frame = Frame {
            token: Some("t\"<"),
            catalog_url: "https://x/catalog",
            query: "<script>",
            test: true,
            system: Some(ProcurementSystem::Ariba),
            return_url: Some("https://x/catalog/return"),
        };
        let reply = page(200, "A & B", &frame, "<p>hi</p>");
        let html = &reply.body;
        assert!(html.starts_with("<!doctype html><html lang=\"en\">"));
        assert!(html.contains("<title>A &amp; B · Software Marketplace</title>"));
        assert!(html.contains("href=\"#main\">Skip to main content</a>"));
        assert!(html.contains("<main id=\"main\""));
        assert!(html.contains("role=\"search\""));
        assert!(html.contains("<label for=\"q\">"));
        assert!(html.contains("value=\"&lt;script&gt;\""));
        assert!(!html.contains("t\"<"));
        assert!(html.contains("Test mode."));
        assert!(html.contains("Return to SAP Ariba without a cart"));
        assert!(html.contains(":focus-visible"));
        let nonce = script_nonce(&reply).unwrap();
        assert!(html.contains(&format!("<style nonce=\"{nonce}\">")));
    }
}
