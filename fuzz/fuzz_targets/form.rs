//! Arbitrary bytes as a submitted form body into `cxml::decode_form_body`: it must never
//! panic, and a document decoded from a form is handed to `cxml::parse` as the endpoint does.
//! When the input is UTF-8 it is also used as a document: both form encodings of it must
//! decode back to exactly those bytes.
#![no_main]

use cxml::FormEncoding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, xml)) = cxml::decode_form_body(data) {
        let _ = cxml::parse(&xml);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for encoding in [FormEncoding::UrlEncoded, FormEncoding::Base64] {
            let body = encoding.form_body(text);
            let (got_encoding, got) = cxml::decode_form_body(body.as_bytes())
                .unwrap_or_else(|e| panic!("{encoding:?} form body does not decode: {}", e.text));
            assert_eq!(got_encoding, encoding);
            assert_eq!(got, data, "{encoding:?} form body changed the document");
        }
    }
});
