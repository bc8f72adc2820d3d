//! [`EventContext`]: who and what caused an event, stored with it.

use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value};

tokio::task_local! {
    static CURRENT: Arc<Map<String, Value>>;
}

/// Context stored with every event staged while it is in scope, in the
/// events table's `context` column: a correlation id, a causation id, and
/// fields of your own. It travels with the task (a tokio task-local), so
/// no write signature changes and no extra statement runs: the context is
/// captured when an event is staged (`push`, `extend`, `init`) and sent
/// with the write that stores it. Loaded events carry it back
/// ([`PersistedEvent::context`](crate::PersistedEvent)), and so does the
/// feed ([`FeedEvent::context`](crate::FeedEvent)).
///
/// With the `opentelemetry` feature, every staged event also gets the
/// `trace_id` and `span_id` of the current `tracing` span, when a
/// `tracing-opentelemetry` layer records it (inside a scope or not); fields
/// of the scope or of `push_with_context` with those names win.
///
/// Scopes nest: an inner scope's fields are added to the outer one's,
/// replacing those of the same name. An event staged with
/// `push_with_context` keeps its own fields and gets the scope's others.
///
/// ```
/// use es_entity::EventContext;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ctx = EventContext::new()
///     .correlation_id("req-42")
///     .field("user", "alice");
/// ctx.scope(async {
///     let now = EventContext::current().unwrap();
///     assert_eq!(now["correlation_id"], "req-42");
///     assert_eq!(now["user"], "alice");
/// })
/// .await;
/// assert!(EventContext::current().is_none());
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventContext {
    fields: Map<String, Value>,
}

impl EventContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `correlation_id`: the id shared by everything one request or
    /// message caused.
    pub fn correlation_id(self, id: impl Into<String>) -> Self {
        self.field("correlation_id", id.into())
    }

    /// Sets `causation_id`: the id of the message or command that caused
    /// these events.
    pub fn causation_id(self, id: impl Into<String>) -> Self {
        self.field("causation_id", id.into())
    }

    /// Sets a field of your own.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// The context in scope now (all nested scopes merged), as stored.
    pub fn current() -> Option<Value> {
        CURRENT.try_with(|c| Value::Object((**c).clone())).ok()
    }

    fn merged(self) -> Arc<Map<String, Value>> {
        let mut fields = CURRENT.try_with(|c| (**c).clone()).unwrap_or_default();
        fields.extend(self.fields);
        Arc::new(fields)
    }

    /// Runs `f` with this context in scope (merged over the one already in
    /// scope, if any).
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self.merged(), f).await
    }

    /// Runs the synchronous `f` with this context in scope.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self.merged(), f)
    }

    /// Wraps `f` so it runs with the context in scope now: what a task
    /// spawned from here needs, since tokio tasks do not inherit
    /// task-locals.
    ///
    /// ```
    /// use es_entity::EventContext;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// EventContext::new().correlation_id("req-7").scope(async {
    ///     let task = tokio::spawn(EventContext::carry(async {
    ///         EventContext::current()
    ///     }));
    ///     assert_eq!(task.await.unwrap().unwrap()["correlation_id"], "req-7");
    /// }).await;
    /// # }
    /// ```
    pub fn carry<F: Future>(f: F) -> impl Future<Output = F::Output> {
        let now = CURRENT.try_with(Arc::clone).ok();
        async move {
            match now {
                Some(ctx) => CURRENT.scope(ctx, f).await,
                None => f.await,
            }
        }
    }
}

/// The context to store with an event staged now: `explicit` (from
/// `push_with_context`) with the scope's fields added where it has none of
/// that name, then (feature `opentelemetry`) the current span's `trace_id`
/// and `span_id` the same way; `explicit` alone when there is neither.
pub(crate) fn ambient(explicit: Option<Value>) -> Option<Value> {
    let scope = CURRENT.try_with(Arc::clone).ok();
    let trace = trace::current_ids();
    if scope.is_none() && trace.is_none() {
        return explicit;
    }
    let mut own = match explicit {
        None => Map::new(),
        Some(Value::Object(own)) => own,
        Some(other) => return Some(other),
    };
    if let Some(scope) = scope {
        for (k, v) in scope.iter() {
            own.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(ids) = trace {
        for (k, v) in ids {
            own.entry(k).or_insert(Value::String(v));
        }
    }
    Some(Value::Object(own))
}

/// The OpenTelemetry ids of the current `tracing` span, as W3C hex strings.
#[cfg(feature = "opentelemetry")]
mod trace {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    /// `trace_id` and `span_id` of the current span, when a
    /// `tracing-opentelemetry` layer records it; `None` outside any span or
    /// without such a layer.
    pub(super) fn current_ids() -> Option<[(String, String); 2]> {
        let span = tracing::Span::current();
        if span.is_disabled() {
            return None;
        }
        let cx = span.context();
        let ids = cx.span().span_context().clone();
        ids.is_valid().then(|| {
            [
                ("trace_id".to_owned(), ids.trace_id().to_string()),
                ("span_id".to_owned(), ids.span_id().to_string()),
            ]
        })
    }
}

#[cfg(not(feature = "opentelemetry"))]
mod trace {
    pub(super) fn current_ids() -> Option<[(String, String); 2]> {
        None
    }
}
