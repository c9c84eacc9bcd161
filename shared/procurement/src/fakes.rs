//! In-memory implementations of the ports, for unit tests and fixture tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::config::Config;
use crate::model::{Email, Integration, InvoiceJob, OrderRecord, Product, Session};
use crate::ports::{Deps, Mailer, Queue, Recorded, Store, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    integrations: Mutex<HashMap<String, Integration>>,
    sessions: Mutex<HashMap<String, Session>>,
    products: Mutex<HashMap<String, Product>>,
    orders: Mutex<HashMap<String, OrderRecord>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        lock(&self.integrations).insert(integration.org_id.clone(), integration.clone());
        Ok(())
    }

    async fn get_integration(&self, org_id: &str) -> Result<Option<Integration>, StoreError> {
        Ok(lock(&self.integrations).get(org_id).cloned())
    }

    async fn find_integration_by_sender(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError> {
        Ok(lock(&self.integrations)
            .values()
            .find(|i| i.sender_domain.eq_ignore_ascii_case(domain) && i.sender_identity == identity)
            .cloned())
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        lock(&self.sessions).insert(session.token_digest.clone(), session.clone());
        Ok(())
    }

    async fn get_session(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        Ok(lock(&self.sessions).get(token_digest).cloned())
    }

    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        lock(&self.products).insert(product.id.clone(), product.clone());
        Ok(())
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        Ok(lock(&self.products).get(id).cloned())
    }

    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        let mut all: Vec<Product> = lock(&self.products).values().cloned().collect();
        all.sort_by(|a, b| a.title.cmp(&b.title));
        Ok(all)
    }

    async fn record_order(&self, order: &OrderRecord) -> Result<Recorded<OrderRecord>, StoreError> {
        let mut orders = lock(&self.orders);
        let by_order = format!("{}#{}", order.org_id, order.order_id);
        let by_payload = format!("payload#{}", order.payload_id);
        if let Some(existing) = orders.get(&by_order).or_else(|| orders.get(&by_payload)) {
            return Ok(Recorded::Existing(existing.clone()));
        }
        orders.insert(by_order, order.clone());
        orders.insert(by_payload, order.clone());
        Ok(Recorded::Created)
    }
}

#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<Email>>,
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        lock(&self.sent).push(email.clone());
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryQueue {
    pub jobs: Mutex<Vec<InvoiceJob>>,
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn enqueue_invoice(&self, job: &InvoiceJob) -> Result<(), String> {
        lock(&self.jobs).push(job.clone());
        Ok(())
    }
}

/// Deps wired to fresh in-memory fakes, with handles to inspect them.
pub struct FakeWorld {
    pub deps: Deps,
    pub store: Arc<MemoryStore>,
    pub mailer: Arc<MemoryMailer>,
    pub queue: Arc<MemoryQueue>,
}

impl FakeWorld {
    pub fn new(config: Config) -> Self {
        let store = Arc::new(MemoryStore::default());
        let mailer = Arc::new(MemoryMailer::default());
        let queue = Arc::new(MemoryQueue::default());
        let deps = Deps {
            config,
            store: store.clone(),
            mailer: mailer.clone(),
            queue: queue.clone(),
        };
        Self {
            deps,
            store,
            mailer,
            queue,
        }
    }
}

impl FakeWorld {
    /// A world holding the demo catalog and integrations, as `make run` seeds them.
    pub async fn demo() -> Self {
        let world = Self::new(Config::example());
        let now = time::OffsetDateTime::now_utc();
        for p in crate::demo::products(now) {
            let _ = world.store.put_product(&p).await;
        }
        let _ = world
            .store
            .put_integration(&crate::demo::coupa_integration(now))
            .await;
        let _ = world
            .store
            .put_integration(&crate::demo::ariba_integration(now))
            .await;
        world
    }
}
