//! Reading the product's HTML pages as a browser would: links and forms.
//! The pages are our own well-formed HTML, so quick-xml with lenient end-tag checks reads them.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// An HTML form: where it posts and the values it would submit (hidden and text inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn attr(tag: &BytesStart, name: &str) -> Option<String> {
    tag.html_attributes()
        .flatten()
        .find(|a| a.key.0.eq_ignore_ascii_case(name))
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn reader(html: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(html);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    reader
}

/// Every form of the page, in document order.
pub fn forms(html: &str) -> Vec<Form> {
    let mut reader = reader(html);
    let mut out: Vec<Form> = Vec::new();
    let mut in_form = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) | Ok(Event::Empty(tag)) => {
                let name = tag.name().0.to_ascii_lowercase();
                if name == "form" {
                    in_form = true;
                    out.push(Form {
                        action: attr(&tag, "action").unwrap_or_default(),
                        method: attr(&tag, "method")
                            .unwrap_or_else(|| "get".into())
                            .to_ascii_lowercase(),
                        fields: Vec::new(),
                    });
                } else if (name == "input" || name == "button") && in_form {
                    let kind = attr(&tag, "type").unwrap_or_default().to_ascii_lowercase();
                    if let (Some(field), Some(form)) = (attr(&tag, "name"), out.last_mut())
                        && kind != "submit"
                    {
                        form.fields
                            .push((field, attr(&tag, "value").unwrap_or_default()));
                    }
                }
            }
            Ok(Event::End(tag)) if tag.name().0.eq_ignore_ascii_case("form") => {
                in_form = false;
            }
            Ok(Event::Eof) | Err(_) => return out,
            _ => {}
        }
    }
}

/// Every link target (`a href`) of the page.
pub fn links(html: &str) -> Vec<String> {
    let mut reader = reader(html);
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) | Ok(Event::Empty(tag))
                if tag.name().0.eq_ignore_ascii_case("a") =>
            {
                out.extend(attr(&tag, "href"));
            }
            Ok(Event::Eof) | Err(_) => return out,
            _ => {}
        }
    }
}
