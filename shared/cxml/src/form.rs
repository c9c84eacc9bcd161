//! The HTML form encodings of a PunchOutOrderMessage: the cart travels back to the
//! procurement system through the user's browser as a form field named after its encoding.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::Rejection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FormEncoding {
    /// Field `cxml-urlencoded`: the document itself; the browser URL-encodes it on submit.
    #[default]
    #[serde(rename = "cxml-urlencoded")]
    UrlEncoded,
    /// Field `cxml-base64`: the document in base64, for buyers whose gateways mangle XML.
    #[serde(rename = "cxml-base64")]
    Base64,
}

impl FormEncoding {
    pub fn field_name(&self) -> &'static str {
        match self {
            Self::UrlEncoded => "cxml-urlencoded",
            Self::Base64 => "cxml-base64",
        }
    }

    /// The field value to put in the form (HTML-escape it when writing the page).
    pub fn encode(&self, xml: &str) -> String {
        match self {
            Self::UrlEncoded => xml.to_string(),
            Self::Base64 => STANDARD.encode(xml.as_bytes()),
        }
    }

    /// The body a browser submits for a form holding just this field.
    pub fn form_body(&self, xml: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair(self.field_name(), &self.encode(xml))
            .finish()
    }
}

impl FromStr for FormEncoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cxml-urlencoded" => Ok(Self::UrlEncoded),
            "cxml-base64" => Ok(Self::Base64),
            other => Err(format!(
                "form encoding must be cxml-urlencoded or cxml-base64, not '{other}'"
            )),
        }
    }
}

/// Reads the cXML document out of a submitted `application/x-www-form-urlencoded` body,
/// whichever of the two fields it came in.
pub fn decode_form_body(body: &[u8]) -> Result<(FormEncoding, Vec<u8>), Rejection> {
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "cxml-urlencoded" => {
                return Ok((FormEncoding::UrlEncoded, value.into_owned().into_bytes()));
            }
            "cxml-base64" => {
                let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let bytes = STANDARD.decode(compact.as_bytes()).map_err(|e| {
                    Rejection::bad_request(format!("field cxml-base64 is not valid base64: {e}"))
                })?;
                return Ok((FormEncoding::Base64, bytes));
            }
            _ => {}
        }
    }
    Err(Rejection::bad_request(
        "form has neither a cxml-urlencoded nor a cxml-base64 field",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_encodings_survive_a_form_submission() {
        let xml = "<cXML payloadID=\"a+b&amp;c\">é</cXML>";
        for enc in [FormEncoding::UrlEncoded, FormEncoding::Base64] {
            let body = enc.form_body(xml);
            let (got_enc, got) = decode_form_body(body.as_bytes()).unwrap();
            assert_eq!(got_enc, enc);
            assert_eq!(String::from_utf8(got).unwrap(), xml);
        }
    }

    #[test]
    fn a_form_without_cxml_is_refused() {
        assert_eq!(decode_form_body(b"foo=bar").unwrap_err().code, 400);
        assert!(decode_form_body(b"cxml-base64=%%%").is_err());
    }
}
