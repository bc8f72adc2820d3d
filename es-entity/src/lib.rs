//! Event-sourced entity persistence for PostgreSQL.
//!
//! Derive [`EsEvent`] on an event enum, [`EsEntity`] on the entity and
//! [`EsRepo`] on a repository struct holding a `sqlx::PgPool`: the repository
//! gets `create`, `update`, `find_by_*` and friends, all checked at compile time
//! through `sqlx::query!`. See the book in the repository for a guided tour.
#![forbid(unsafe_code)]

mod bind_limit;
mod bulk_write;
mod classify;
mod column_types;
mod create_or_find;
mod error;
mod event_context;
mod event_json;
mod events;
mod expected_version;
mod feed;
mod feed_rows;
mod feed_source;
mod hydrate;
mod idempotent;
mod instrument;
mod macros;
mod nested;
mod one_time_executor;
mod operation;
mod pagination;
mod post_persist;
mod query;
mod query_arg;
mod read;
mod refresh;
mod repo_error;
mod retry;
mod round_trip;
mod snapshot;
mod sqlx_check;
mod sqlx_errors;
mod stored_times;
mod traits;
mod update_with_retry;
mod write;

pub mod batch;
#[cfg(feature = "graphql")]
pub mod graphql;
pub mod prelude;
pub mod projection;
pub mod schema;
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use bind_limit::{BatchTooLarge, ServerLimitExceeded};
pub use column_types::{ColumnTypeError, ColumnTypeMismatch};
pub use create_or_find::CreateOrFind;
pub use error::{ConstraintKind, EntityHydrationError, HydrationFailure};
pub use es_entity_macros::{EsEntity, EsEvent, EsRepo, es_query, retry_on_concurrent_modification};
pub use event_context::EventContext;
pub use event_json::{EventJson, EventPayload, ParsedEvent};
pub use events::{EntityEvents, EsEvent, GenericEvent, LastPersisted, PersistedEvent};
pub use expected_version::{ExpectedVersion, UncheckedWrite};
pub use feed::{FeedBatch, FeedCheckpoint, FeedEvent, FeedItem, FeedOrigin, merge_feeds};
pub use feed_source::{FeedRead, FeedReadError, FeedSource, FeedSources};
pub use idempotent::{FromAlreadyApplied, Idempotent};
pub use nested::{Nested, NestedError, NestedRepo, Parent};
pub use one_time_executor::{IntoOneTimeExecutor, OneTimeExecutor};
pub use operation::{
    AtomicOperation, CommitError, CommitHook, CommitHooks, DbOp, DbOpWithTime, HookError,
    Savepoint, with_savepoint,
};
pub use pagination::{ListDirection, PaginatedQueryArgs, PaginatedQueryRet, Sort};
pub use post_persist::PostPersistHookError;
pub use query::EsQuery;
pub use repo_error::{
    ConstraintViolation, CreateError, EntityColumn, FindError, ModifyError, QueryError,
    UncheckedModifyError,
};
pub use retry::{Conflict, Retried, RetryPolicy, RetryableError, retry_on_concurrent_modification};
pub use snapshot::{EsSnapshot, HeadSnapshot};
pub use sqlx_errors::{is_connection_lost, is_transient_sqlx};
pub use traits::{EsEntity, EsRepo, GenerateId, IntoEvents, IntoEventsWithId, TryFromEvents};
pub use update_with_retry::{CommandOutcome, UpdateWithRetryError};
