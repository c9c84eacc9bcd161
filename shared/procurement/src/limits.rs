//! How long the values of a received document may be, checked right after it is read and
//! before anything is authenticated, stored or looked up.
//!
//! cXML declares these values as `%string;` without a length, so the limits are ours. They come
//! from where the values go: DynamoDB refuses a partition key over 2048 bytes, a sort key over
//! 1024 bytes and an item over 400 KB with a `ValidationException` (Amazon DynamoDB Developer
//! Guide, "Service, account, and table quotas in Amazon DynamoDB": "Partition key length",
//! "Sort key length", "Item size"). A payloadID is in the key `PAYLOAD#<org>#<payloadID>` and
//! the sort key `CHANGE#<type>#<payloadID>`, an orderID in `ORDER#<org>#<orderID>`, a
//! SupplierPartAuxiliaryID is looked up as `QUOTE#<id>`, a SupplierPartID as `PRODUCT#<id>`,
//! a buyer credential as `BUYER#<domain>#<identity>`; the BuyerCookie, BrowserFormPost URL and
//! requester name are stored in the session and each quote. Unchecked, an overlong value became
//! a storage failure, answered as a retryable 500 that the sender would retry for ever; checked,
//! it is a 400 naming the field. The limits are far above anything Coupa or SAP Ariba sends
//! (payloadIDs of some 60 characters, PO numbers of 10 to 20, cookies of 32 to 100).

use cxml::{Body, Credential, Cxml, Extrinsic, ItemOut, Rejection, RequestPayload};

/// payloadIDs, orderIDs, part and auxiliary IDs, credential domains and identities: each in a
/// key, with a prefix and the organisation, well inside the 1024-byte sort-key limit.
pub const MAX_ID_BYTES: usize = 512;

/// The BuyerCookie, echoed into the cart and stored with the session and each quote.
pub const MAX_BUYER_COOKIE_BYTES: usize = 4096;

/// BrowserFormPost: stored with the session. 2048 bytes is the URL length every browser and
/// procurement system handles.
pub const MAX_URL_BYTES: usize = 2048;

/// An extrinsic's name and value (`UserEmail`, `FirstName`, ... become the requester's address
/// and name, stored with the session and quotes).
pub const MAX_EXTRINSIC_NAME_BYTES: usize = 256;
pub const MAX_EXTRINSIC_VALUE_BYTES: usize = 4096;

/// Extrinsics on one element (a request header or one line).
pub const MAX_EXTRINSICS: usize = 100;

/// A contact's name (the requester's name when no FirstName/LastName extrinsic is sent).
pub const MAX_NAME_BYTES: usize = 1024;

/// Whether an ID someone sent (a product in a page's URL or form, an Open Buy part number, a
/// credential) can name a record at all. Longer than [`MAX_ID_BYTES`] it names none, and it is
/// not looked up, which DynamoDB would refuse with a `ValidationException` (a 500).
pub fn may_name_a_record(id: &str) -> bool {
    id.len() <= MAX_ID_BYTES
}

fn at_most(value: &str, limit: usize, field: impl FnOnce() -> String) -> Result<(), Rejection> {
    if value.len() > limit {
        return Err(Rejection::bad_request(format!(
            "{} is {} bytes long; at most {limit} are accepted",
            field(),
            value.len()
        )));
    }
    Ok(())
}

fn credentials(list: &[Credential], wrapper: &str) -> Result<(), Rejection> {
    for c in list {
        at_most(&c.domain, MAX_ID_BYTES, || {
            format!("attribute domain of Credential in {wrapper}")
        })?;
        at_most(&c.identity, MAX_ID_BYTES, || {
            format!("element Identity of Credential in {wrapper}")
        })?;
    }
    Ok(())
}

fn extrinsics(list: &[Extrinsic], parent: &str) -> Result<(), Rejection> {
    if list.len() > MAX_EXTRINSICS {
        return Err(Rejection::bad_request(format!(
            "{parent} has {} Extrinsic elements; at most {MAX_EXTRINSICS} are accepted",
            list.len()
        )));
    }
    for e in list {
        at_most(&e.name, MAX_EXTRINSIC_NAME_BYTES, || {
            format!("attribute name of an Extrinsic in {parent}")
        })?;
        at_most(&e.value, MAX_EXTRINSIC_VALUE_BYTES, || {
            format!("Extrinsic {} in {parent}", shown(&e.name))
        })?;
    }
    Ok(())
}

/// A name as it is quoted in a refusal: its start only (the name itself may be what is long).
fn shown(name: &str) -> String {
    let mut end = name.len().min(64);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    if end < name.len() {
        format!("{}...", &name[..end])
    } else {
        name.to_string()
    }
}

fn items(list: &[ItemOut]) -> Result<(), Rejection> {
    for (i, item) in list.iter().enumerate() {
        let line = item.line_number.map_or(i + 1, |n| n as usize);
        let id = &item.item_id;
        at_most(&id.supplier_part_id, MAX_ID_BYTES, || {
            format!("SupplierPartID of ItemOut line {line}")
        })?;
        if let Some(aux) = &id.supplier_part_auxiliary_id {
            at_most(aux, MAX_ID_BYTES, || {
                format!("SupplierPartAuxiliaryID of ItemOut line {line}")
            })?;
        }
        if let Some(detail) = &item.detail {
            extrinsics(&detail.extrinsics, &format!("ItemOut line {line}"))?;
        }
    }
    Ok(())
}

/// Refuses a document with a value longer than it may be, naming the field.
pub fn check(doc: &Cxml) -> Result<(), Rejection> {
    at_most(&doc.payload_id, MAX_ID_BYTES, || {
        "attribute payloadID on cXML".into()
    })?;
    if let Some(header) = &doc.header {
        credentials(&header.from, "From")?;
        credentials(&header.to, "To")?;
        credentials(&header.sender, "Sender")?;
    }
    let Body::Request(request) = &doc.body else {
        return Ok(());
    };
    match &request.payload {
        RequestPayload::PunchOutSetup(setup) => {
            at_most(&setup.buyer_cookie, MAX_BUYER_COOKIE_BYTES, || {
                "element BuyerCookie in PunchOutSetupRequest".into()
            })?;
            if let Some(url) = &setup.browser_form_post {
                at_most(url, MAX_URL_BYTES, || {
                    "element URL of BrowserFormPost in PunchOutSetupRequest".into()
                })?;
            }
            extrinsics(&setup.extrinsics, "PunchOutSetupRequest")?;
            for contact in &setup.contacts {
                at_most(&contact.name, MAX_NAME_BYTES, || {
                    "element Name of Contact in PunchOutSetupRequest".into()
                })?;
            }
            if let Some(selected) = &setup.selected_item {
                at_most(&selected.supplier_part_id, MAX_ID_BYTES, || {
                    "SupplierPartID of SelectedItem".into()
                })?;
            }
            items(&setup.items)
        }
        RequestPayload::Order(order) => {
            at_most(&order.header.order_id, MAX_ID_BYTES, || {
                "attribute orderID on OrderRequestHeader".into()
            })?;
            if let Some(reference) = &order.header.document_reference {
                at_most(reference, MAX_ID_BYTES, || {
                    "attribute payloadID on DocumentReference".into()
                })?;
            }
            extrinsics(&order.header.extrinsics, "OrderRequestHeader")?;
            items(&order.items)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_quoted_by_its_start_only() {
        let name = "é".repeat(100);
        let shown = shown(&name);
        assert!(shown.ends_with("...") && shown.len() <= 67, "{shown}");
        assert_eq!(super::shown("UserEmail"), "UserEmail");
    }
}
