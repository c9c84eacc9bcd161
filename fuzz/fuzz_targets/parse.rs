//! Arbitrary bytes into `cxml::parse`: it must never panic, and whatever it accepts must
//! survive writing and reading again.
//!
//! Writing normalises a document once (timestamps to whole seconds in UTC, text trimmed,
//! attribute white space folded), so the property is checked after one round trip:
//! doc2 = parse(to_xml(doc1)) must read back, and parse(to_xml(doc2)) == doc2.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc1) = cxml::parse(data) else {
        return;
    };
    let xml1 = cxml::to_xml(&doc1);
    let doc2 = match cxml::parse(xml1.as_bytes()) {
        Ok(doc) => doc,
        Err(e) => panic!(
            "a document we wrote does not read back: {} {}\n--- read ---\n{doc1:#?}\n--- written ---\n{xml1}",
            e.code, e.text
        ),
    };
    let xml2 = cxml::to_xml(&doc2);
    let doc3 = match cxml::parse(xml2.as_bytes()) {
        Ok(doc) => doc,
        Err(e) => panic!(
            "a normalised document does not read back: {} {}\n--- written ---\n{xml2}",
            e.code, e.text
        ),
    };
    assert_eq!(
        doc2, doc3,
        "write/read is not stable after one round trip\n--- first write ---\n{xml1}\n--- second write ---\n{xml2}"
    );
});
