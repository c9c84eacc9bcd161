//! Safe reading: bytes to a small borrowed element tree (flat: [`Document`]).
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
use quick_xml::events::attributes::{AttrError, Attribute};
use quick_xml::events::{BytesRef, Event};
use quick_xml::name::QName;
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
    let Some(label) = declared_encoding(bytes) else {
        return utf8(bytes);
    };
    // Compared without case and without allocating a lowercase copy.
    let is = |labels: &[&str]| labels.iter().any(|l| label.eq_ignore_ascii_case(l));
    if is(&["utf-8", "utf8"]) {
        utf8(bytes)
    } else if is(&[
        "iso-8859-1",
        "iso8859-1",
        "latin1",
        "latin-1",
        "l1",
        "iso_8859-1",
        "windows-1252",
        "cp1252",
        "us-ascii",
        "ascii",
    ]) {
        // WHATWG maps all of these labels to windows-1252, a superset of ISO-8859-1
        // in its printable range; decoding cannot fail.
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
        Ok(text)
    } else {
        Err(Rejection::not_acceptable(format!(
            "encoding '{}' is not accepted: send UTF-8 or ISO-8859-1",
            label.to_ascii_lowercase()
        )))
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
    let decl = &decl[..find_bytes(decl, "?>")?];
    let at = find_bytes(decl, "encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// Where `needle` first occurs in `haystack`, as `str::find`, without the set-up of its
/// substring searcher (most of the cost for a needle in a 100-byte declaration).
fn find_bytes(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

/// Whether `name` is the element that holds a shared secret (any case, as the reader is lenient
/// about the root's case too).
fn is_secret(name: &str) -> bool {
    name.eq_ignore_ascii_case("SharedSecret")
}

/// One attribute: its name and its value, unescaped and normalized.
pub type Attr<'a> = (&'a str, Cow<'a, str>);

/// A parsed document, flat: every element in document order in one vector, linked by
/// first-child and next-sibling indices, and every attribute in one vector. Building it moves
/// no element and allocates per document, not per element: the tree of [`Element`]s, with two
/// vectors per element moved into their parents, cost most of the tree step over the floor.
#[derive(Debug)]
pub struct Document<'a> {
    nodes: Vec<Slot<'a>>,
    attrs: Vec<Attr<'a>>,
}

#[derive(Debug)]
struct Slot<'a> {
    name: &'a str,
    text: Cow<'a, str>,
    attrs_start: u32,
    attrs_end: u32,
    /// 0 for none: the root, node 0, is nobody's child or sibling.
    first_child: u32,
    next_sibling: u32,
}

impl<'a> Document<'a> {
    /// The `cXML` root element.
    pub fn root(&self) -> Node<'_, 'a> {
        Node {
            doc: self,
            index: 0,
        }
    }
}

/// One element of a [`Document`]: a copyable handle with the same questions as [`Element`].
#[derive(Clone, Copy)]
pub struct Node<'d, 'a> {
    doc: &'d Document<'a>,
    index: u32,
}

impl std::fmt::Debug for Node<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name())
            .field("attrs", &self.attrs())
            .field("text", &self.text())
            .finish_non_exhaustive()
    }
}

impl<'d, 'a> Node<'d, 'a> {
    fn slot(self) -> &'d Slot<'a> {
        &self.doc.nodes[self.index as usize]
    }

    pub fn name(self) -> &'a str {
        self.slot().name
    }

    pub fn attrs(self) -> &'d [Attr<'a>] {
        let slot = self.slot();
        &self.doc.attrs[slot.attrs_start as usize..slot.attrs_end as usize]
    }

    pub fn attr(self, name: &str) -> Option<&'d str> {
        self.attrs()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The text directly inside the element.
    pub fn text(self) -> &'d str {
        &self.slot().text
    }

    /// The element's own text with surrounding white space removed.
    pub fn trimmed_text(self) -> &'d str {
        self.text().trim()
    }

    /// The child elements, in document order.
    pub fn children(self) -> Children<'d, 'a> {
        Children {
            doc: self.doc,
            next: self.slot().first_child,
        }
    }

    pub fn child(self, name: &str) -> Option<Node<'d, 'a>> {
        self.children().find(|c| c.name() == name)
    }

    pub fn children_named(self, name: &str) -> impl Iterator<Item = Node<'d, 'a>> {
        self.children().filter(move |c| c.name() == name)
    }

    /// The same element as an owned [`Element`] tree.
    pub fn to_element(self) -> Element<'a> {
        Element {
            name: self.name(),
            attrs: self.attrs().to_vec(),
            children: self.children().map(Node::to_element).collect(),
            text: self.slot().text.clone(),
        }
    }
}

/// The children of a [`Node`], in document order.
#[derive(Clone)]
pub struct Children<'d, 'a> {
    doc: &'d Document<'a>,
    next: u32,
}

impl<'d, 'a> Iterator for Children<'d, 'a> {
    type Item = Node<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == 0 {
            return None;
        }
        let node = Node {
            doc: self.doc,
            index: self.next,
        };
        self.next = node.slot().next_sibling;
        Some(node)
    }
}

/// Parses decoded text into the element tree rooted at `cXML` (see [`parse_document`]).
pub fn parse_tree(input: &str) -> Result<Element<'_>, Rejection> {
    parse_document(input).map(|doc| doc.root().to_element())
}

/// An element that is open while the document is read.
struct Open {
    index: u32,
    last_child: u32,
}

/// Parses decoded text into the flat [`Document`] rooted at `cXML`.
///
/// A document that fails to parse inside a `SharedSecret` (an unescaped `<` or `&` in the
/// secret, as in `hunter2<s3cr3t`) is refused without the parser's own words: they would
/// quote the tag or entity name, which is part of the secret, into the answer and the log.
pub fn parse_document(input: &str) -> Result<Document<'_>, Rejection> {
    // About one element per 40 bytes in real cXML (indented); reserving that avoids most
    // regrowth, and pages a big document never touches are never committed.
    let guess = (input.len() / 40).min(MAX_ELEMENTS);
    let mut doc = Document {
        nodes: Vec::with_capacity(guess),
        attrs: Vec::with_capacity(guess),
    };
    let mut open: Vec<Open> = Vec::with_capacity(16);
    match build(input, &mut doc, &mut open) {
        Ok(()) => Ok(doc),
        Err(_)
            if open
                .iter()
                .any(|o| is_secret(doc.nodes[o.index as usize].name)) =>
        {
            Err(Rejection::bad_request(
                "malformed XML inside element SharedSecret: escape <, > and & in the secret as &lt;, &gt; and &amp; (its content is not repeated here)",
            ))
        }
        Err(rejection) => Err(rejection),
    }
}

fn build<'a>(
    input: &'a str,
    doc: &mut Document<'a>,
    open: &mut Vec<Open>,
) -> Result<(), Rejection> {
    let mut reader = Reader::from_str(input);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;

    loop {
        let event = reader.read_event().map_err(|e| {
            Rejection::bad_request(format!(
                "malformed XML near byte {}: {e}",
                reader.error_position()
            ))
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) if open.is_empty() && !doc.nodes.is_empty() => {
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
                if open.is_empty() && !name.eq_ignore_ascii_case("cXML") {
                    return Err(Rejection::bad_request(format!(
                        "root element must be cXML, found {name}"
                    )));
                }
                if open.len() >= MAX_DEPTH {
                    return Err(Rejection::bad_request(format!(
                        "elements nest deeper than {MAX_DEPTH} levels"
                    )));
                }
                if doc.nodes.len() >= MAX_ELEMENTS {
                    return Err(Rejection::bad_request(format!(
                        "document has more than {MAX_ELEMENTS} elements"
                    )));
                }
                let attrs_start = doc.attrs.len() as u32;
                parse_attributes(raw, name_len, name, &mut doc.attrs)?;
                let index = doc.nodes.len() as u32;
                doc.nodes.push(Slot {
                    name,
                    text: Cow::Borrowed(""),
                    attrs_start,
                    attrs_end: doc.attrs.len() as u32,
                    first_child: 0,
                    next_sibling: 0,
                });
                if let Some(parent) = open.last_mut() {
                    if parent.last_child == 0 {
                        doc.nodes[parent.index as usize].first_child = index;
                    } else {
                        doc.nodes[parent.last_child as usize].next_sibling = index;
                    }
                    parent.last_child = index;
                }
                if matches!(event, Event::Start(_)) {
                    open.push(Open {
                        index,
                        last_child: 0,
                    });
                }
            }
            Event::End(_) => {
                open.pop()
                    .ok_or_else(|| Rejection::bad_request("end tag without a start tag"))?;
            }
            Event::Text(text) => {
                let raw = text.into_inner();
                if let Some(current) = open.last() {
                    push_text(&mut doc.nodes[current.index as usize].text, raw);
                } else if !is_blank(&raw) {
                    return Err(Rejection::bad_request("text outside the cXML root element"));
                }
            }
            Event::CData(cdata) => {
                if let Some(current) = open.last() {
                    push_text(
                        &mut doc.nodes[current.index as usize].text,
                        cdata.xml10_content(),
                    );
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                if let Some(current) = open.last() {
                    let text = &mut doc.nodes[current.index as usize].text;
                    match resolved {
                        Resolved::Char(c) => text.to_mut().push(c),
                        Resolved::Str(s) => text.to_mut().push_str(s),
                    }
                }
            }
            Event::DocType(doctype) => check_doctype(&doctype.xml10_content())?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(last) = open.last() {
        return Err(Rejection::bad_request(format!(
            "document ends before element {} is closed",
            doc.nodes[last.index as usize].name
        )));
    }
    if doc.nodes.is_empty() {
        return Err(Rejection::bad_request(
            "no cXML element found: the body is not a cXML document",
        ));
    }
    Ok(())
}

/// XML white space, as quick-xml's attribute reader counts it.
fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\r' | b'\n' | b'\t')
}

/// Reads the attributes of a start tag (`raw` is the tag's content, `from` the end of its
/// name) into `out`, with the grammar and errors of quick-xml's `Attributes` (values quoted
/// with `"` or `'`; `=` may have white space around it) and its refusal of duplicates, but
/// comparing a new name only with the names already read on this element: no per-element
/// vector, and the per-element cap bounds the quadratic comparison.
fn parse_attributes<'a>(
    raw: &'a str,
    from: usize,
    element: &str,
    out: &mut Vec<Attr<'a>>,
) -> Result<(), Rejection> {
    let bytes = raw.as_bytes();
    let len = bytes.len();
    let first = out.len();
    let malformed =
        |e: AttrError| Rejection::bad_request(format!("malformed attribute on {element}: {e}"));
    let skip_space = |mut i: usize| {
        while i < len && is_xml_space(bytes[i]) {
            i += 1;
        }
        i
    };
    let mut i = skip_space(from);
    while i < len {
        if out.len() - first >= MAX_ATTRIBUTES_PER_ELEMENT {
            return Err(Rejection::bad_request(format!(
                "element {element} has more than {MAX_ATTRIBUTES_PER_ELEMENT} attributes"
            )));
        }
        if out.len() >= MAX_ATTRIBUTES {
            return Err(Rejection::bad_request(format!(
                "document has more than {MAX_ATTRIBUTES} attributes"
            )));
        }
        let key_start = i;
        while i < len && bytes[i] != b'=' && !is_xml_space(bytes[i]) {
            i += 1;
        }
        let key = &raw[key_start..i];
        i = skip_space(i);
        if i == len || bytes[i] != b'=' {
            return Err(malformed(AttrError::ExpectedEq(i)));
        }
        if let Some((prev, _)) = out[first..].iter().find(|(k, _)| *k == key) {
            let prev_start = prev.as_ptr() as usize - raw.as_ptr() as usize;
            return Err(malformed(AttrError::Duplicated(key_start, prev_start)));
        }
        i = skip_space(i + 1);
        let quote = match bytes.get(i) {
            None => return Err(malformed(AttrError::ExpectedValue(len))),
            Some(&q @ (b'"' | b'\'')) => q,
            Some(_) => return Err(malformed(AttrError::UnquotedValue(i))),
        };
        let value_start = i + 1;
        // One pass finds the closing quote and whether the value needs work: only a reference
        // or a line break / tab does (and costs an allocation).
        let mut end = value_start;
        let mut plain = true;
        loop {
            match bytes.get(end) {
                None => return Err(malformed(AttrError::ExpectedQuote(len, quote))),
                Some(&b) if b == quote => break,
                Some(b'&' | b'\t' | b'\r' | b'\n') => plain = false,
                Some(_) => {}
            }
            end += 1;
        }
        let value = &raw[value_start..end];
        i = skip_space(end + 1);
        let value = if plain {
            Cow::Borrowed(value)
        } else {
            let attr = Attribute {
                key: QName(key),
                value: Cow::Borrowed(value),
            };
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| Rejection::bad_request(format!("attribute {key} on {element}: {e}")))?
        };
        out.push((key, value));
    }
    Ok(())
}

/// Adds text to an element's, with XML 1.0 line ends (`\r\n` and `\r` read as `\n`).
#[inline]
fn push_text<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        // Leading white space between elements is noise: skip it without allocating, and
        // without normalizing its line ends (white space either way).
        if !is_blank(&more) {
            *text = match more {
                Cow::Borrowed(s) => xml10_line_ends(s),
                Cow::Owned(s) => Cow::Owned(xml10_line_ends(&s).into_owned()),
            };
        }
    } else {
        text.to_mut().push_str(&xml10_line_ends(&more));
    }
}

/// `s` with `\r\n` and a lone `\r` read as `\n`, as quick-xml's `xml10_content` does.
fn xml10_line_ends(s: &str) -> Cow<'_, str> {
    if s.as_bytes().contains(&b'\r') {
        Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether `s` is only white space, as `s.trim().is_empty()` (Unicode white space), with a
/// byte loop for the indentation between elements, which is almost every text event, and for
/// text that starts with a visible ASCII character (the char-by-char `trim` was 4% of a
/// 500-line OrderRequest's parse, by perf).
#[inline]
fn is_blank(s: &str) -> bool {
    let mut rest = s.as_bytes();
    // Indentation is a line break and spaces: skip the break, then the spaces eight at a time.
    while let [b'\n' | b'\r', tail @ ..] = rest {
        rest = tail;
    }
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        if chunk != b"        " {
            break;
        }
        rest = tail;
    }
    for &b in rest {
        match b {
            b' ' | b'\n' | b'\t' | b'\r' => {}
            // Not white space, for `trim` either.
            b'!'..=b'~' => return false,
            // Other control characters, or not ASCII: ask the Unicode definition.
            _ => return s.trim().is_empty(),
        }
    }
    true
}

/// Finds `part` inside `input` so it can be borrowed for the input's whole lifetime.
fn reborrow<'a>(input: &'a str, part: &str) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    input
        .get(start..start.checked_add(part.len())?)
        .filter(|s| s.as_ptr() == part.as_ptr())
}

/// What a reference stands for.
enum Resolved {
    Char(char),
    Str(&'static str),
}

fn resolve_reference(reference: &BytesRef<'_>) -> Result<Resolved, Rejection> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(Resolved::Char(c)),
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
    Ok(Resolved::Str(text))
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

    /// What quick-xml's own attribute reader makes of a start tag's content: the values, or
    /// the first error.
    fn quick_xml_attrs(raw: &str, from: usize) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        for attr in quick_xml::events::attributes::Attributes::new(raw, from) {
            let attr = attr.map_err(|e| e.to_string())?;
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            out.push((attr.key.0.to_string(), value.into_owned()));
        }
        Ok(out)
    }

    #[test]
    fn attributes_read_as_quick_xml_reads_them() {
        let tags = [
            "e",
            "e ",
            r#"e a="1""#,
            "e a='1'",
            "e a = \"1\"",
            "e\ta=\"1\"\n b='2'\r\n",
            r#"e a="1"b="2""#,
            r#"e a="1" a="2""#,
            r#"e a="1" b="2" a="3""#,
            r#"e a="" b="""#,
            "e a",
            "e a ",
            r#"e a b="1""#,
            "e a=",
            "e a= ",
            "e a=1",
            r#"e a="1"#,
            "e a='1\"",
            r#"e a="x &amp; y &lt;&gt;&quot;&apos;""#,
            r#"e a="x&bogus;y""#,
            r#"e a="x&amp""#,
            r#"e a="&#65;&#x42;""#,
            r#"e a="&#xZZ;""#,
            "e a=\"l1\nl2\r\nl3\rl4\tx\"",
            r#"e "q"="1""#,
            r#"e a="1" b='"' c="'""#,
            r#"e a="é ü ✓" é="ü""#,
            r#"e xml:lang="en" xmlns:x="urn:x" x:y="z""#,
            r#"e a="<>/""#,
        ];
        for tag in tags {
            let from = tag
                .find(|c: char| c.is_ascii_whitespace())
                .unwrap_or(tag.len());
            let mut ours = Vec::new();
            let got = parse_attributes(tag, from, "e", &mut ours).map(|()| {
                ours.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            });
            match (got, quick_xml_attrs(tag, from)) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{tag:?}"),
                (Err(ours), Err(theirs)) => {
                    assert_eq!(ours.code, 400, "{tag:?}");
                    assert!(ours.text.ends_with(&theirs), "{tag:?}: {ours} / {theirs}");
                }
                (ours, theirs) => panic!("{tag:?}: ours {ours:?}, quick-xml {theirs:?}"),
            }
        }
    }

    #[test]
    fn refuses_duplicate_attributes_at_any_distance() {
        let err = tree(r#"<cXML a="1" b="2" c="3" a="4"/>"#).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.text.contains("malformed attribute on cXML"),
            "{}",
            err.text
        );
        // The same name on different elements is no duplicate.
        let doc = tree(r#"<cXML a="1"><X a="2"/><X a="3" b="4"/></cXML>"#).unwrap();
        let values: Vec<_> = doc.children_named("X").map(|x| x.attr("a")).collect();
        assert_eq!(values, [Some("2"), Some("3")]);
    }

    #[test]
    fn the_flat_document_answers_as_the_tree() {
        let xml = r#"<cXML a="1"><A x="&lt;">t&amp;1<!-- c --> t2<B/></A><![CDATA[ c ]]><C>
  </C></cXML>"#;
        let doc = parse_document(xml).unwrap();
        let root = doc.root();
        let element = tree(xml).unwrap();
        assert_eq!(root.name(), element.name);
        assert_eq!(root.attr("a"), element.attr("a"));
        assert_eq!(root.text(), element.text);
        assert_eq!(root.text(), " c ");
        let a = root.child("A").unwrap();
        assert_eq!(a.attr("x"), Some("<"));
        assert_eq!(a.text(), "t&1 t2");
        assert_eq!(a.children().map(Node::name).collect::<Vec<_>>(), ["B"]);
        assert_eq!(root.child("C").unwrap().text(), "");
        assert!(root.child("B").is_none());
        assert_eq!(root.children().count(), 2);
    }

    #[test]
    fn text_line_ends_read_as_quick_xml_reads_them() {
        for text in [
            "a\r\nb",
            "a\rb",
            "a\r\r\nb\r",
            "\r\n x \r",
            "no breaks",
            "\n\n",
        ] {
            let xml = format!("<cXML><A>{text}</A></cXML>");
            let mut reader = Reader::from_str(&xml);
            let expected = loop {
                if let Event::Text(t) = reader.read_event().unwrap() {
                    break t.xml10_content().into_owned();
                }
            };
            let doc = parse_document(&xml).unwrap();
            let got = doc.root().child("A").unwrap().text();
            if is_blank(&expected) {
                assert_eq!(got, "", "{text:?}");
            } else {
                assert_eq!(got, expected, "{text:?}");
            }
        }
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
    fn encoding_labels_are_matched_without_case() {
        for label in ["UTF-8", "utf8", "Utf-8"] {
            let doc = format!("<?xml version=\"1.0\" encoding=\"{label}\"?><cXML>é</cXML>");
            assert!(decode(doc.as_bytes(), Limits::default()).is_ok(), "{label}");
        }
        let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><cXML>Caf\xE9</cXML>";
        assert!(decode(latin1, Limits::default()).unwrap().contains("Café"));
        let odd = b"<?xml version=\"1.0\" encoding=\"EBCDIC-Cp500\"?><cXML/>";
        let err = decode(odd, Limits::default()).unwrap_err();
        assert_eq!(err.code, 406);
        assert!(err.text.contains("'ebcdic-cp500'"), "{}", err.text);
        for (hay, needle) in [
            ("a?>b", "?>"),
            ("", "?>"),
            ("?", "?>"),
            ("x encoding=", "encoding"),
        ] {
            assert_eq!(find_bytes(hay, needle), hay.find(needle), "{hay:?}");
        }
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
