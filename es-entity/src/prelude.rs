//! Everything a crate using the derives usually names, in one import.
//!
//! `use es_entity::prelude::*;` brings in the three derives and their
//! traits, the history and command types, the repository and transaction
//! types, the error types, pagination and retry types, and the
//! `entity_id!`, `idempotency_guard!` and `es_query!` macros. It also re-exports the types event payloads tend to carry
//! ([`Uuid`], [`DateTime`], [`Utc`], [`serde_json`]) from the versions
//! es-entity itself is built with, so a crate need not depend on `uuid`,
//! `chrono` or `serde_json` only to name them.
//!
//! Two dependencies cannot be replaced by a re-export, because the code
//! their macros generate names them as crates of your own:
//!
//! - `sqlx` 0.9: the repository derive expands to `sqlx::query!`, whose
//!   expansion names `::sqlx`;
//! - `serde`: `#[derive(Serialize, Deserialize)]` names `serde` too. The
//!   prelude re-exports both derives, and they work without a `serde`
//!   dependency when the type also says
//!   `#[serde(crate = "es_entity::prelude::serde")]`; depending on `serde`
//!   (feature `derive`) is the plainer choice.
//!
//! ```
//! use es_entity::prelude::*;
//!
//! entity_id! { NoteId }
//!
//! // No `serde` dependency needed here, thanks to `#[serde(crate = ...)]`.
//! #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
//! #[serde(crate = "es_entity::prelude::serde")]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! #[es_event(id = "NoteId")]
//! pub enum NoteEvent {
//!     Written { id: NoteId, text: String, at: DateTime<Utc>, tags: serde_json::Value },
//! }
//!
//! let id = NoteId::new();
//! let raw: Uuid = id.into();
//! let events = EntityEvents::init(
//!     id,
//!     [NoteEvent::Written { id, text: "hi".into(), at: Utc::now(), tags: serde_json::json!([]) }],
//! );
//! assert_eq!(Uuid::from(*events.id()), raw);
//! assert_eq!(events.len_new(), 1);
//! ```

pub use crate::{
    AtomicOperation, ConstraintViolation, CreateError, DbOp, DbOpWithTime, EntityEvents,
    EntityHydrationError, EsEntity, EsEvent, EsRepo, ExpectedVersion, FindError, GenerateId,
    Idempotent, IntoEvents, IntoEventsWithId, IntoOneTimeExecutor, LastPersisted, ListDirection,
    ModifyError, Nested, PaginatedQueryArgs, PaginatedQueryRet, PostPersistHookError, QueryError,
    RetryPolicy, RetryableError, Sort, TryFromEvents, UncheckedModifyError, UncheckedWrite,
    entity_id, es_query, idempotency_guard, retry_on_concurrent_modification,
};

pub use chrono::{DateTime, Utc};
pub use serde::{self, Deserialize, Serialize};
pub use serde_json;
pub use uuid::{self, Uuid};
