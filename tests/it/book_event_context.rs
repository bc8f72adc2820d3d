//! Event context (book/src/transactions.md): a correlation id set once per
//! request reaches every event the request stages, in the `context` column,
//! in loaded events and in the feed, with no change to the writes.

use std::time::{Duration, Instant};

use es_entity::*;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::feed::{BoxError, LedgerAccounts, NewLedgerAccount};
use crate::quickstart::{NewUser, UserId, Users};
use crate::repo_fixtures::unique;

/// The `context` column of a user's events, in sequence order.
async fn stored_contexts(pool: &PgPool, id: UserId) -> Vec<Option<serde_json::Value>> {
    sqlx::query_scalar("SELECT context FROM user_events WHERE id = $1 ORDER BY sequence")
        .bind(Uuid::from(id))
        .fetch_all(pool)
        .await
        .unwrap()
}

// ANCHOR: request
/// What a request handler does: everything it stages carries its ids.
pub async fn handle_rename(
    users: &Users,
    request_id: &str,
    id: UserId,
    name: &str,
) -> Result<(), BoxError> {
    let context = EventContext::new()
        .correlation_id(request_id)
        .causation_id(format!("rename {id}"))
        .field("actor", "support-desk");
    context
        .scope(async {
            let mut user = users.find_by_id(id).await?;
            if user.update_name(name).did_execute() {
                users.update(&mut user).await?;
            }
            Ok(())
        })
        .await
}
// ANCHOR_END: request

#[tokio::test]
async fn the_context_in_scope_is_stored_with_every_event() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let id = UserId::new();
    // Outside any scope: no context, as before.
    users
        .create(NewUser {
            id,
            name: unique("ctx"),
        })
        .await?;
    handle_rename(&users, "req-1", id, &unique("renamed")).await?;

    let want = json!({
        "correlation_id": "req-1",
        "causation_id": format!("rename {id}"),
        "actor": "support-desk",
    });
    assert_eq!(stored_contexts(&pool, id).await, [None, Some(want.clone())]);
    // Loaded events carry it back.
    let user = users.find_by_id(id).await?;
    let loaded: Vec<_> = user
        .events()
        .iter_persisted()
        .map(|e| e.context.clone())
        .collect();
    assert_eq!(loaded, [None, Some(want)]);
    Ok(())
}

#[tokio::test]
async fn scopes_nest_explicit_contexts_merge_and_spawned_tasks_carry_it() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let id = UserId::new();
    let outer = EventContext::new()
        .correlation_id("req-2")
        .field("tenant", "t1");
    outer
        .scope(async {
            users
                .create(NewUser {
                    id,
                    name: unique("nested"),
                })
                .await?;
            let inner = EventContext::new()
                .causation_id("cmd-9")
                .field("tenant", "t2");
            let name = unique("inner");
            inner
                .scope(async {
                    let mut user = users.find_by_id(id).await?;
                    let _ = user.update_name(&name);
                    // An explicit context keeps its fields, gets the others.
                    user.events_mut().push_with_context(
                        crate::quickstart::UserEvent::NameUpdated { name: unique("x") },
                        json!({ "tenant": "explicit", "reason": "test" }),
                    );
                    users.update(&mut user).await?;
                    Ok::<_, BoxError>(())
                })
                .await?;
            // A spawned task sees the context only when carried.
            let users2 = Users::new(pool.clone());
            let carried = tokio::spawn(EventContext::carry(async move {
                let mut user = users2.find_by_id(id).await?;
                let _ = user.update_name(unique("carried"));
                users2.update(&mut user).await?;
                Ok::<_, BoxError>(())
            }));
            carried.await??;
            let users3 = Users::new(pool.clone());
            let bare = tokio::spawn(async move {
                let mut user = users3.find_by_id(id).await?;
                let _ = user.update_name(unique("bare"));
                users3.update(&mut user).await?;
                Ok::<_, BoxError>(())
            });
            bare.await??;
            Ok::<_, BoxError>(())
        })
        .await?;

    assert_eq!(
        stored_contexts(&pool, id).await,
        [
            Some(json!({ "correlation_id": "req-2", "tenant": "t1" })),
            Some(json!({ "correlation_id": "req-2", "tenant": "t2", "causation_id": "cmd-9" })),
            Some(json!({
                "correlation_id": "req-2", "tenant": "explicit", "causation_id": "cmd-9", "reason": "test"
            })),
            Some(json!({ "correlation_id": "req-2", "tenant": "t1" })),
            None,
        ]
    );
    Ok(())
}

#[tokio::test]
async fn the_feed_hands_the_context_to_readers() -> Result<(), BoxError> {
    let pool = es_entity_tests::pool().await;
    let accounts = LedgerAccounts::new(&pool);
    let account = EventContext::new()
        .correlation_id("req-3")
        .scope(accounts.create(NewLedgerAccount::new("ctx", &[])))
        .await?;
    let at = accounts
        .feed_checkpoint_of(&account)
        .await?
        .expect("stored");
    let before = FeedCheckpoint {
        transaction_id: at.transaction_id,
        position: at.position - 1,
    };
    // Other tests may hold the feed's horizon back for a while.
    let started = Instant::now();
    loop {
        let batch = accounts.feed_after(Some(before), 1).await?;
        if let Some(event) = batch.events.first() {
            assert_eq!(event.checkpoint(), at);
            assert_eq!(event.context, Some(json!({ "correlation_id": "req-3" })));
            return Ok(());
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never visible"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ANCHOR: otel
/// A subscriber that records spans in OpenTelemetry, as a service exporting
/// traces has (an exporter is left out here).
fn otel_dispatch() -> tracing::Dispatch {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = provider.tracer("book");
    tracing::Dispatch::new(
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer)),
    )
}

/// The OpenTelemetry ids of a span, as stored with its events.
fn otel_ids(span: &tracing::Span) -> (String, String) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let cx = span.context();
    let ids = cx.span().span_context().clone();
    (ids.trace_id().to_string(), ids.span_id().to_string())
}
// ANCHOR_END: otel

#[tokio::test]
async fn with_opentelemetry_the_span_ids_are_stored_too() -> Result<(), BoxError> {
    use tracing::Instrument;
    use tracing::instrument::WithSubscriber;

    let pool = es_entity_tests::pool().await;
    let users = Users::new(pool.clone());
    let id = UserId::new();
    users
        .create(NewUser {
            id,
            name: unique("otel"),
        })
        .await?;

    let (in_scope, bare, own) = async {
        // Inside a span and an `EventContext` scope: both sets of fields.
        let span = tracing::info_span!("rename_user");
        let in_scope = otel_ids(&span);
        handle_rename(&users, "req-otel", id, &unique("renamed"))
            .instrument(span)
            .await?;
        // Inside a span, no scope: the ids alone.
        let span = tracing::info_span!("rename_again");
        let bare = otel_ids(&span);
        async {
            let mut user = users.find_by_id(id).await?;
            let _ = user.update_name(unique("again"));
            users.update(&mut user).await?;
            Ok::<_, BoxError>(())
        }
        .instrument(span)
        .await?;
        // A scope field of the same name wins over the span's.
        let span = tracing::info_span!("rename_own");
        let own = otel_ids(&span);
        EventContext::new()
            .field("trace_id", "mine")
            .scope(async {
                let mut user = users.find_by_id(id).await?;
                let _ = user.update_name(unique("own"));
                users.update(&mut user).await?;
                Ok::<_, BoxError>(())
            })
            .instrument(span)
            .await?;
        Ok::<_, BoxError>((in_scope, bare, own))
    }
    .with_subscriber(otel_dispatch())
    .await?;

    // Real ids: 32 and 16 hex digits, not the all-zero invalid ones; each
    // root span starts a trace of its own.
    for (trace_id, span_id) in [&in_scope, &bare, &own] {
        assert_eq!(trace_id.len(), 32, "{trace_id}");
        assert_eq!(span_id.len(), 16, "{span_id}");
        assert_ne!(trace_id.trim_start_matches('0'), "");
    }
    assert_ne!(in_scope.0, bare.0);

    let stored = stored_contexts(&pool, id).await;
    assert_eq!(stored.len(), 4);
    // Created outside any span: nothing, as before.
    assert_eq!(stored[0], None);
    assert_eq!(
        stored[1],
        Some(json!({
            "correlation_id": "req-otel",
            "causation_id": format!("rename {id}"),
            "actor": "support-desk",
            "trace_id": in_scope.0,
            "span_id": in_scope.1,
        }))
    );
    assert_eq!(
        stored[2],
        Some(json!({ "trace_id": bare.0, "span_id": bare.1 }))
    );
    assert_eq!(
        stored[3],
        Some(json!({ "trace_id": "mine", "span_id": own.1 }))
    );

    // Without an OpenTelemetry layer a span has no ids: nothing is added.
    async {
        let mut user = users.find_by_id(id).await?;
        let _ = user.update_name(unique("plain"));
        users.update(&mut user).await?;
        Ok::<_, BoxError>(())
    }
    .instrument(tracing::info_span!("no_otel"))
    .await?;
    assert_eq!(stored_contexts(&pool, id).await[4], None);
    Ok(())
}
