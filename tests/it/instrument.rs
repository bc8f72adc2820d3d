//! The `instrument` feature (enabled for this suite in the root
//! Cargo.toml): every public repository method opens a span named
//! `es_entity.<method>` with OpenTelemetry's database fields, the entity
//! type, the id when the method takes an entity, and the error type when it
//! fails.
//!
//! The recorder is installed per thread (`set_default`) on a
//! current-thread runtime, after a warm-up run (see reliability_tracing.rs
//! for why a callsite first hit elsewhere needs it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use crate::quickstart::{NewUser, UserId, Users};
use crate::repo_fixtures::unique;

#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Spans {
    next: Arc<AtomicU64>,
    spans: Arc<Mutex<BTreeMap<u64, SpanRecord>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Spans {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_span() && metadata.name().starts_with("es_entity.")
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.spans.lock().unwrap().insert(
            id,
            SpanRecord {
                name: attrs.metadata().name(),
                fields,
            },
        );
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(s) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut s.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Spans {
    fn take(&self) -> Vec<SpanRecord> {
        std::mem::take(&mut *self.spans.lock().unwrap())
            .into_values()
            .collect()
    }
}

/// Creates, renames and duplicates a user: the calls the test looks at.
async fn exercise(users: &Users, taken: &str) -> UserId {
    let id = UserId::new();
    users
        .create(NewUser {
            id,
            name: unique("traced"),
        })
        .await
        .unwrap();
    let mut user = users.find_by_id(id).await.unwrap();
    let _ = user.update_name(unique("renamed"));
    users.update(&mut user).await.unwrap();
    let duplicate = users
        .create(NewUser {
            id: UserId::new(),
            name: taken.to_owned(),
        })
        .await;
    assert!(duplicate.is_err());
    id
}

#[tokio::test(flavor = "current_thread")]
async fn every_public_method_opens_a_span_with_database_fields() {
    let users = Users::new(es_entity_tests::pool().await);
    let taken = unique("taken");
    users
        .create(NewUser {
            id: UserId::new(),
            name: taken.clone(),
        })
        .await
        .unwrap();

    let spans = Spans::default();
    let warm_up = tracing::subscriber::set_default(spans.clone());
    exercise(&users, &taken).await;
    drop(warm_up);
    let _guard = tracing::subscriber::set_default(spans.clone());
    spans.take();

    let id = exercise(&users, &taken).await;
    let seen = spans.take();
    let named =
        |name: &str| -> Vec<&SpanRecord> { seen.iter().filter(|s| s.name == name).collect() };

    // ANCHOR: fields
    let creates = named("es_entity.create");
    assert_eq!(creates.len(), 2, "{seen:#?}");
    let ok = &creates[0].fields;
    assert_eq!(ok["db.system.name"], "postgresql");
    assert_eq!(ok["db.operation.name"], "create");
    assert_eq!(ok["db.collection.name"], "users");
    assert_eq!(ok["es_entity.entity"], "User");
    assert!(!ok.contains_key("otel.status_code"), "{ok:?}");

    let failed = &creates[1].fields;
    assert_eq!(failed["error.type"], "CreateError");
    assert_eq!(failed["otel.status_code"], "ERROR");

    let update = named("es_entity.update");
    assert_eq!(update.len(), 1, "{seen:#?}");
    assert_eq!(update[0].fields["es_entity.id"], id.to_string());
    assert_eq!(update[0].fields["db.operation.name"], "update");
    // ANCHOR_END: fields

    assert_eq!(named("es_entity.find_by_id").len(), 1, "{seen:#?}");
}
