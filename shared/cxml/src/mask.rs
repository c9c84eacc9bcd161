//! Masking shared secrets in a cXML document's text, for anything that shows or keeps a
//! document (the message log, `make demo`): every `SharedSecret` element's content becomes
//! [`MASKED`].
//!
//! Works on the text, not on a parsed document, so it also masks what a parser would refuse:
//! any case (`<sharedsecret>`), a namespace prefix, attributes (quoted `>` included), content
//! in CDATA sections or comments (a `</SharedSecret>` inside them does not end the element),
//! nested elements (the DTD declares `SharedSecret` as `ANY`), and an element never closed
//! (masked to the end). When in doubt it masks more, never less.

/// What a SharedSecret's content is replaced with.
pub const MASKED: &str = "***";

const NAME: &[u8] = b"SharedSecret";

/// The document with the content (and attributes) of every `SharedSecret` element replaced by
/// [`MASKED`]: `<SharedSecret>***</SharedSecret>` (an empty one stays `<SharedSecret/>`). A
/// document without one comes back as it is.
pub fn mask_shared_secrets(document: &str) -> String {
    let bytes = document.as_bytes();
    let mut out = String::with_capacity(document.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(lt) = find(bytes, i, b"<") {
        match tag_at(bytes, lt) {
            Some(Tag {
                close: false,
                end,
                self_closing,
            }) => {
                out.push_str(&document[copied..lt]);
                let end = if self_closing {
                    out.push_str("<SharedSecret/>");
                    end
                } else {
                    out.push_str("<SharedSecret>");
                    out.push_str(MASKED);
                    out.push_str("</SharedSecret>");
                    element_end(bytes, end)
                };
                copied = end;
                i = end;
            }
            _ => i = lt + 1,
        }
    }
    out.push_str(&document[copied..]);
    out
}

/// A `SharedSecret` start or end tag: whether it closes, where it ends (just past its `>`, or
/// the end of the text), whether it is `<SharedSecret/>`.
struct Tag {
    close: bool,
    end: usize,
    self_closing: bool,
}

/// The `SharedSecret` tag that starts at `lt` (a `<`), if one does.
fn tag_at(bytes: &[u8], lt: usize) -> Option<Tag> {
    let mut name_start = lt + 1;
    let close = bytes.get(name_start) == Some(&b'/');
    if close {
        name_start += 1;
    }
    let name_end = bytes[name_start..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/' | b'<'))
        .map_or(bytes.len(), |p| name_start + p);
    let qname = &bytes[name_start..name_end];
    let local = qname
        .iter()
        .rposition(|b| *b == b':')
        .map_or(qname, |colon| &qname[colon + 1..]);
    if !local.eq_ignore_ascii_case(NAME) {
        return None;
    }
    // The tag's `>`, outside quoted attribute values.
    let mut quote = None;
    let mut j = name_end;
    while j < bytes.len() {
        match (quote, bytes[j]) {
            (None, b'"' | b'\'') => quote = Some(bytes[j]),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => {
                return Some(Tag {
                    close,
                    end: j + 1,
                    self_closing: !close && j > name_end && bytes[j - 1] == b'/',
                });
            }
            _ => {}
        }
        j += 1;
    }
    Some(Tag {
        close,
        end: bytes.len(),
        self_closing: false,
    })
}

/// Where the element whose content starts at `from` ends: just past its matching end tag,
/// skipping CDATA sections and comments; the end of the text when it is never closed.
fn element_end(bytes: &[u8], from: usize) -> usize {
    let mut depth = 1usize;
    let mut i = from;
    while let Some(lt) = find(bytes, i, b"<") {
        let rest = &bytes[lt..];
        if rest.starts_with(b"<![CDATA[") {
            i = find(bytes, lt, b"]]>").map_or(bytes.len(), |e| e + 3);
            continue;
        }
        if rest.starts_with(b"<!--") {
            i = find(bytes, lt + 4, b"-->").map_or(bytes.len(), |e| e + 3);
            continue;
        }
        match tag_at(bytes, lt) {
            Some(Tag {
                close: true, end, ..
            }) => {
                depth -= 1;
                if depth == 0 {
                    return end;
                }
                i = end;
            }
            Some(Tag {
                close: false,
                end,
                self_closing,
            }) => {
                if !self_closing {
                    depth += 1;
                }
                i = end;
            }
            None => i = lt + 1,
        }
    }
    bytes.len()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "hunter2";

    fn masked(document: &str) -> String {
        let out = mask_shared_secrets(document);
        assert!(
            !out.contains(SECRET) && !out.contains("hunter"),
            "a secret survived in {out}"
        );
        out
    }

    #[test]
    fn every_shared_secret_of_a_document_is_masked() {
        let doc = "<cXML><Header><From><Credential domain=\"DUNS\"><Identity>a</Identity></Credential></From>\
                   <Sender><Credential domain=\"NetworkId\"><Identity>b</Identity><SharedSecret>hunter2</SharedSecret></Credential>\
                   <Credential domain=\"x\"><Identity>c</Identity><SharedSecret> hunter2 </SharedSecret></Credential></Sender></Header></cXML>";
        let out = masked(doc);
        assert_eq!(out.matches("<SharedSecret>***</SharedSecret>").count(), 2);
        assert!(
            out.contains("<Identity>b</Identity>"),
            "the rest stays: {out}"
        );
        assert!(out.ends_with("</Credential></Sender></Header></cXML>"));
    }

    #[test]
    fn odd_spellings_are_masked_too() {
        for doc in [
            "<sharedsecret>hunter2</sharedsecret><Next/>",
            "<SHAREDSECRET >hunter2</SHAREDSECRET ><Next/>",
            "<x:SharedSecret>hunter2</x:SharedSecret><Next/>",
            "<SharedSecret a=\"1>2\">hunter2</SharedSecret><Next/>",
            "<SharedSecret hunter2>x</SharedSecret><Next/>",
            "<SharedSecret><![CDATA[hun</SharedSecret>ter2]]></SharedSecret><Next/>",
            "<SharedSecret><!-- </SharedSecret> -->hunter2</SharedSecret><Next/>",
            "<SharedSecret><b>hun<SharedSecret>x</SharedSecret>ter2</b></SharedSecret><Next/>",
            "<SharedSecret>hunter2</SharedSecret\n><Next/>",
            "<SharedSecret>hunter2<s3cr3t</SharedSecret><Next/>",
        ] {
            let out = masked(doc);
            assert_eq!(out, "<SharedSecret>***</SharedSecret><Next/>", "{doc}");
        }
    }

    #[test]
    fn an_unclosed_secret_is_masked_to_the_end() {
        assert_eq!(
            masked("<Sender><SharedSecret>hunter2</Sender>"),
            "<Sender><SharedSecret>***</SharedSecret>"
        );
        assert_eq!(masked("<SharedSecret"), "<SharedSecret>***</SharedSecret>");
        assert_eq!(
            masked("<SharedSecret><![CDATA[hunter2"),
            "<SharedSecret>***</SharedSecret>"
        );
    }

    #[test]
    fn other_elements_and_documents_without_a_secret_are_unchanged() {
        for doc in [
            "<cXML><SharedSecretHint>kept</SharedSecretHint><Shared>x</Shared></cXML>",
            "<SharedSecret/><Identity>kept</Identity>",
            "<!-- SharedSecret --><Identity>kept</Identity>",
            "plain text, é and 日本語 <",
            "",
        ] {
            assert_eq!(mask_shared_secrets(doc), doc);
        }
    }
}
