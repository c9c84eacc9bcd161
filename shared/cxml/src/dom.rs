//! Safe reading: bytes to a small borrowed element tree.
//!
//! This is the only place raw XML is touched. It enforces the reading rules every
//! endpoint needs before any typed extraction runs:
//! - a size limit, checked before anything is parsed;
//! - UTF-8, or a declared single-byte Latin encoding (ISO-8859-1 / windows-1252 / US-ASCII);
//! - the DOCTYPE is read as text and never resolved: its URL is never fetched, and a document
//!   that declares entities (the billion-laughs family) is refused outright;
//! - only the five predefined entities and character references are expanded.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attributes;
use quick_xml::events::{BytesRef, Event};
use quick_xml::reader::Reader;

use crate::error::Rejection;

/// Largest document read by default: API Gateway and Lambda cap payloads at 6 MB,
/// and a 500-line purchase order is well under 1 MB.
pub const DEFAULT_MAX_BYTES: usize = 6 * 1024 * 1024;

/// Deepest element nesting accepted; real cXML stays under 15.
const MAX_DEPTH: usize = 64;

/// Most elements read from one document. A 500-line OrderRequest has about 25,000 (each
/// ItemOut some 40 to 50 elements with its ItemDetail, Classification, Extrinsics and
/// Distribution), so 200,000 leaves room for the largest real POs, while a 6 MiB document of
/// empty `<a/>` elements (1.5 million) is refused before it costs a gigabyte of tree. Checked
/// as the tree is built, before anything is authenticated.
pub const MAX_ELEMENTS: usize = 200_000;

/// Most attributes on one element. cXML's widest element (`ItemOut`, `OrderRequestHeader`)
/// declares about 20; checking duplicates is quadratic in this count, so it is capped low.
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 64;

/// Most attributes in one document, counted with the elements.
pub const MAX_ATTRIBUTES: usize = 400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// One element: its name, attributes, child elements and the text directly inside it.
#[derive(Debug, Clone, Default)]
pub struct Element<'a> {
    pub name: &'a str,
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    pub children: Vec<Element<'a>>,
    pub text: Cow<'a, str>,
}

impl<'a> Element<'a> {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element's own text with surrounding white space removed.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim()
    }
}

/// Turns the raw bytes into UTF-8 text, honouring the declared encoding.
pub fn decode(bytes: &[u8], limits: Limits) -> Result<Cow<'_, str>, Rejection> {
    if bytes.len() > limits.max_bytes {
        return Err(Rejection::too_large(format!(
            "document is {} bytes; the limit is {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Rejection::bad_request(
            "the request body is empty: expected a cXML document",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFE\xFF") || bytes.starts_with(b"\xFF\xFE") {
        return Err(Rejection::not_acceptable(
            "UTF-16 documents are not accepted: send UTF-8 or ISO-8859-1",
        ));
    }
    match declared_encoding(bytes) {
        None => utf8(bytes),
        Some(label) => match label.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => utf8(bytes),
            "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "l1" | "iso_8859-1"
            | "windows-1252" | "cp1252" | "us-ascii" | "ascii" => {
                // WHATWG maps all of these labels to windows-1252, a superset of ISO-8859-1
                // in its printable range; decoding cannot fail.
                let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
                Ok(text)
            }
            other => Err(Rejection::not_acceptable(format!(
                "encoding '{other}' is not accepted: send UTF-8 or ISO-8859-1"
            ))),
        },
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, Rejection> {
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        Rejection::bad_request(format!(
            "document is not valid UTF-8 at byte {} (declare encoding=\"ISO-8859-1\" if it is Latin-1)",
            e.valid_up_to()
        ))
    })
}

/// The `encoding` pseudo-attribute of the XML declaration, if there is one.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = bytes.get(..bytes.len().min(256))?;
    let head = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// Whether `name` is the element that holds a shared secret (any case, as the reader is lenient
/// about the root's case too).
fn is_secret(name: &str) -> bool {
    name.eq_ignore_ascii_case("SharedSecret")
}

/// Parses decoded text into the element tree rooted at `cXML`.
///
/// A document that fails to parse inside a `SharedSecret` (an unescaped `<` or `&` in the
/// secret, as in `hunter2<s3cr3t`) is refused without the parser's own words: they would
/// quote the tag or entity name, which is part of the secret, into the answer and the log.
pub fn parse_tree(input: &str) -> Result<Element<'_>, Rejection> {
    let mut stack: Vec<Element<'_>> = Vec::with_capacity(16);
    build_tree(input, &mut stack).map_err(|rejection| {
        if stack.iter().any(|e| is_secret(e.name)) {
            Rejection::bad_request(
                "malformed XML inside element SharedSecret: escape <, > and & in the secret as &lt;, &gt; and &amp; (its content is not repeated here)",
            )
        } else {
            rejection
        }
    })
}

fn build_tree<'a>(input: &'a str, stack: &mut Vec<Element<'a>>) -> Result<Element<'a>, Rejection> {
    let mut reader = Reader::from_str(input);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;

    let mut root: Option<Element<'_>> = None;
    let mut elements = 0usize;
    let mut attributes = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| {
            Rejection::bad_request(format!(
                "malformed XML near byte {}: {e}",
                reader.error_position()
            ))
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(Rejection::bad_request(
                    "content after the end of the cXML root element",
                ));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                let raw: &str = start;
                let raw = reborrow(input, raw)
                    .ok_or_else(|| Rejection::internal("reader lost its input"))?;
                let name_len = start.name().as_ref().len();
                let name = &raw[..name_len];
                if stack.is_empty() && !name.eq_ignore_ascii_case("cXML") {
                    return Err(Rejection::bad_request(format!(
                        "root element must be cXML, found {name}"
                    )));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(Rejection::bad_request(format!(
                        "elements nest deeper than {MAX_DEPTH} levels"
                    )));
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(Rejection::bad_request(format!(
                        "document has more than {MAX_ELEMENTS} elements"
                    )));
                }
                let mut attrs = Vec::new();
                for attr in Attributes::new(raw, name_len) {
                    if attrs.len() >= MAX_ATTRIBUTES_PER_ELEMENT {
                        return Err(Rejection::bad_request(format!(
                            "element {name} has more than {MAX_ATTRIBUTES_PER_ELEMENT} attributes"
                        )));
                    }
                    attributes += 1;
                    if attributes > MAX_ATTRIBUTES {
                        return Err(Rejection::bad_request(format!(
                            "document has more than {MAX_ATTRIBUTES} attributes"
                        )));
                    }
                    let attr = attr.map_err(|e| {
                        Rejection::bad_request(format!("malformed attribute on {name}: {e}"))
                    })?;
                    let key = attr.key.0;
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| {
                            Rejection::bad_request(format!("attribute {key} on {name}: {e}"))
                        })?;
                    attrs.push((key, value));
                }
                let element = Element {
                    name,
                    attrs,
                    children: Vec::new(),
                    text: Cow::Borrowed(""),
                };
                if matches!(event, Event::Empty(_)) {
                    attach(stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| Rejection::bad_request("end tag without a start tag"))?;
                attach(stack, &mut root, element);
            }
            Event::Text(text) => {
                if let Some(current) = stack.last_mut() {
                    push_text(&mut current.text, text.xml10_content());
                } else if !text.xml10_content().trim().is_empty() {
                    return Err(Rejection::bad_request("text outside the cXML root element"));
                }
            }
            Event::CData(cdata) => {
                if let Some(current) = stack.last_mut() {
                    push_text(&mut current.text, cdata.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                if let Some(current) = stack.last_mut() {
                    current.text.to_mut().push_str(&resolved);
                }
            }
            Event::DocType(doctype) => check_doctype(&doctype.xml10_content())?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(Rejection::bad_request(format!(
            "document ends before element {} is closed",
            open.name
        )));
    }
    root.ok_or_else(|| {
        Rejection::bad_request("no cXML element found: the body is not a cXML document")
    })
}

fn attach<'a>(stack: &mut [Element<'a>], root: &mut Option<Element<'a>>, element: Element<'a>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        // Leading white space between elements is noise; skip it without allocating.
        if !is_blank(&more) {
            *text = more;
        }
    } else {
        text.to_mut().push_str(&more);
    }
}

/// Whether `s` is only white space, as `s.trim().is_empty()` (Unicode white space), with a
/// byte loop for the indentation between elements, which is almost every text event (the
/// char-by-char `trim` was 4% of a 500-line OrderRequest's parse, by perf).
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r')) || s.trim().is_empty()
}

/// Finds `part` inside `input` so it can be borrowed for the input's whole lifetime.
fn reborrow<'a>(input: &'a str, part: &str) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    input
        .get(start..start.checked_add(part.len())?)
        .filter(|s| s.as_ptr() == part.as_ptr())
}

fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, Rejection> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(Rejection::bad_request(format!(
                "invalid character reference &{};",
                reference.xml10_content()
            ))),
        };
    }
    let name = reference.xml10_content();
    let text = match name.as_ref() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        other => {
            return Err(Rejection::bad_request(format!(
                "undefined entity reference &{other};: only the five XML entities are accepted"
            )));
        }
    };
    Ok(text.to_string())
}

/// The DOCTYPE is informational only. Its system identifier is never fetched; an internal
/// subset that declares entities is the billion-laughs / external-entity attack and is refused.
fn check_doctype(doctype: &str) -> Result<(), Rejection> {
    let subset = doctype.find('[').map(|at| &doctype[at..]);
    if subset.is_some_and(|s| s.contains("<!ENTITY")) {
        return Err(Rejection::bad_request(
            "document declares entities in its DOCTYPE; entity declarations are refused",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(xml: &str) -> Result<Element<'_>, Rejection> {
        parse_tree(xml)
    }

    #[test]
    fn blank_is_unicode_white_space_as_trim_says() {
        for s in ["", " ", "\n\t  \r\n", "\u{a0}", " \u{2003}\n", "\u{85}"] {
            assert!(is_blank(s), "{s:?}");
        }
        for s in ["a", "  x  ", "\n\u{a0}-", "\u{200b}"] {
            assert_eq!(is_blank(s), s.trim().is_empty(), "{s:?}");
            assert!(!is_blank(s), "{s:?}");
        }
        // Text after indentation is kept; indentation alone is dropped.
        let doc = tree("<cXML>\n  <A>\n   </A><B>\u{a0}</B><C> x </C></cXML>").unwrap();
        assert_eq!(doc.text, "");
        assert_eq!(doc.child("A").unwrap().text, "");
        assert_eq!(doc.child("B").unwrap().text, "");
        assert_eq!(doc.child("C").unwrap().text, " x ");
    }

    #[test]
    fn children_keep_document_order_at_every_depth() {
        fn names<'a>(e: &Element<'a>) -> Vec<&'a str> {
            e.children.iter().map(|c| c.name).collect()
        }
        let doc =
            tree("<cXML><A><A1/><A2><X/><Y>y</Y></A2><A3/></A><B/><C><C1/></C></cXML>").unwrap();
        assert_eq!(names(&doc), ["A", "B", "C"]);
        let a = doc.child("A").unwrap();
        assert_eq!(names(a), ["A1", "A2", "A3"]);
        assert_eq!(names(a.child("A2").unwrap()), ["X", "Y"]);
        assert_eq!(a.child("A2").unwrap().child("Y").unwrap().text, "y");
        assert!(doc.child("B").unwrap().children.is_empty());
        assert_eq!(names(doc.child("C").unwrap()), ["C1"]);
    }

    #[test]
    fn builds_a_tree_with_text_and_attributes() {
        let doc = tree(r#"<cXML a="1 &amp; 2"><X>Ben &amp; Jerry&#39;s</X><Y/></cXML>"#).unwrap();
        assert_eq!(doc.attr("a"), Some("1 & 2"));
        assert_eq!(doc.child("X").unwrap().trimmed_text(), "Ben & Jerry's");
        assert!(doc.child("Y").is_some());
    }

    #[test]
    fn refuses_entity_declarations_and_unknown_entities() {
        let lol = r#"<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><cXML>&lol2;</cXML>"#;
        let err = tree(lol).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.text.contains("entities"), "{}", err.text);
        let err = tree("<cXML>&nbsp;</cXML>").unwrap_err();
        assert!(err.text.contains("&nbsp;"), "{}", err.text);
    }

    #[test]
    fn external_doctype_is_never_resolved() {
        let doc = r#"<!DOCTYPE cXML SYSTEM "http://127.0.0.1:9/never-fetched.dtd"><cXML/>"#;
        assert!(tree(doc).is_ok());
    }

    #[test]
    fn names_the_problem_in_malformed_documents() {
        assert!(
            tree("<cXML><A></B></cXML>")
                .unwrap_err()
                .text
                .contains("malformed")
        );
        assert!(
            tree("<Other/>")
                .unwrap_err()
                .text
                .contains("root element must be cXML")
        );
        assert!(tree("<cXML><A>").unwrap_err().text.contains("A"));
    }

    #[test]
    fn decodes_latin1_and_refuses_unknown_encodings() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><cXML>Caf\xE9</cXML>";
        let text = decode(latin1, Limits::default()).unwrap();
        assert!(text.contains("Café"));
        let other = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><cXML/>";
        assert_eq!(decode(other, Limits::default()).unwrap_err().code, 406);
        let big = vec![b' '; 11];
        assert_eq!(
            decode(&big, Limits { max_bytes: 10 }).unwrap_err().code,
            413
        );
    }
}
