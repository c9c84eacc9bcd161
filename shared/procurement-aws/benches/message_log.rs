//! The extra work a message log write adds to an order, without the network: masking the
//! SharedSecrets, capping the document, building the record, and the SDK serializing the
//! PutItem (against the recorded client, which answers at once). The round trip to DynamoDB
//! comes on top (a few milliseconds in the table's region; bounded by the adapter).
//!
//! `cargo bench -p procurement-aws --bench message_log`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use procurement::ids::OrgId;
use procurement::message_log::Exchange;
use procurement::ports::MessageLog;
use procurement_aws::DynamoStore;
use procurement_aws::recorded::RecordedDynamo;

/// An OrderRequest as Coupa sends it, with `lines` items.
fn order_request(lines: usize) -> String {
    let mut items = String::new();
    for n in 1..=lines {
        items.push_str(&format!(
            r#"<ItemOut quantity="1" lineNumber="{n}"><ItemID><SupplierPartID>prod-saas-upfront</SupplierPartID><SupplierPartAuxiliaryID>q-{n:04}</SupplierPartAuxiliaryID></ItemID><ItemDetail><UnitPrice><Money currency="USD">1200.00</Money></UnitPrice><Description xml:lang="en">Ledgerly Analytics, 12 months upfront, line {n}</Description><UnitOfMeasure>EA</UnitOfMeasure><Classification domain="UNSPSC">43232300</Classification></ItemDetail></ItemOut>"#
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="1795514400.1@buyer.example" timestamp="2026-11-24T10:00:00+00:00" xml:lang="en-US"><Header>
<From><Credential domain="DUNS"><Identity>coupa-demo-buyer</Identity></Credential></From>
<To><Credential domain="NetworkID"><Identity>marketplace</Identity></Credential></To>
<Sender><Credential domain="DUNS"><Identity>coupa-demo-buyer</Identity><SharedSecret>local-demo-coupa-secret</SharedSecret></Credential><UserAgent>Coupa Procurement 1.0</UserAgent></Sender>
</Header><Request deploymentMode="production"><OrderRequest><OrderRequestHeader orderID="PO-1" orderDate="2026-11-24T10:00:00+00:00" type="new"><Total><Money currency="USD">1200.00</Money></Total><ShipTo><Address><Name xml:lang="en">Acme</Name></Address></ShipTo><BillTo><Address><Name xml:lang="en">Acme</Name></Address></BillTo><Contact role="endUser"><Name xml:lang="en">Jim Halpert</Name><Email>jim.halpert@buyer.example</Email></Contact></OrderRequestHeader>{items}</OrderRequest></Request></cXML>"#
    )
}

fn exchange() -> Exchange {
    Exchange {
        org_id: OrgId::from("demo-coupa-org"),
        direction: procurement::message_log::Direction::In,
        message_type: "OrderRequest".into(),
        payload_id: "1795514400.1@buyer.example".into(),
        order_id: Some("PO-1".into()),
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let recorded = RecordedDynamo::new();
    let store = DynamoStore::new(recorded.client(), "procurement");
    let mut group = c.benchmark_group("message_log");
    // 1 line: a typical order; 200 lines (~100 KB): past the cap.
    for lines in [1usize, 20, 200] {
        let document = order_request(lines);
        group.throughput(Throughput::Bytes(document.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("mask_and_cap", lines),
            &document,
            |b, document| {
                b.iter(|| {
                    exchange().answered(time::OffsetDateTime::now_utc(), Some(200), "OK", document)
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("record_without_network", lines),
            &document,
            |b, document| {
                b.iter(|| {
                    let message = exchange().answered(
                        time::OffsetDateTime::now_utc(),
                        Some(200),
                        "OK",
                        document,
                    );
                    runtime
                        .block_on(MessageLog::record(&store, &message))
                        .expect("the recorded client answers");
                    recorded.clear();
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
