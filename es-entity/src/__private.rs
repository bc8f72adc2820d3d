//! Items only generated code uses. Not part of the public API: the
//! re-exported crates generated code names, the crate's internal helpers
//! it calls, and the sealed helper traits it implements. The logic lives in
//! the modules named for what it does (`write`, `read`, `refresh`,
//! `hydrate`, `classify`, `column_types`, `feed_rows`, `post_persist`, ...).

/// The traits a statement parameter's binding goes through.
pub mod query_arg {
    pub use crate::query_arg::*;
}

/// The proof that an event enum's JSON reads back (`#[derive(EsEvent)]`).
pub mod round_trip {
    pub use crate::round_trip::{JsonRoundTrip, Probe, Proven, Unproven};
}

/// The check that the crate using a derive links the same sqlx.
pub mod sqlx_check {
    pub use crate::sqlx_check::*;
}

pub use chrono;
pub use serde;
pub use serde_json;
pub use sqlx;
/// For the spans of the `instrument` feature.
pub use tracing;
pub use uuid;

/// The spans of the `instrument` feature.
pub mod instrument {
    pub use crate::instrument::{entity_id, record_error};
}

/// The transaction of a pool variant's write in a repository with a
/// `post_persist_hook`.
pub mod post_persist {
    pub use crate::post_persist::{HookError, WriteError, begin_write, finish_write, post_persist};
    pub use crate::refresh::{new_counts, unmark, unmark_all};
}

pub use crate::bulk_write::{BulkEvents, created};
pub use crate::classify::{
    CatalogConstraint, Constraints, bulk_modify_error, create_error, modify_error,
    unchecked_modify_error,
};
pub use crate::column_types::{CatalogColumn, DeclaredColumn, check_columns, fits};
pub use crate::create_or_find::{KeyHolders, found_holder, key_holders};
pub use crate::feed_rows::{FeedRow, feed_after, feed_batch, feed_limit, last_sequence};
pub use crate::nested::NestedNode;
pub use crate::one_time_executor::on_connection as executor_on;
pub use crate::query::{ReadsRow, es_query};
pub use crate::read::{RepoRow, Row, find_all, find_one, maybe_found, page, page_limit};
pub use crate::refresh::{EntityEventsExt, refresh_after_unchecked};
pub use crate::repo_error::{BatchWriteError, modify_conflict};
pub use crate::write::{
    EventBatch, EventText, ReadBack, check_hydrates, first_duplicate, serialize, version_i32,
    version_usize,
};

/// What a repository with `#[es_repo(snapshot)]` reads and writes.
pub mod snapshot {
    pub use crate::snapshot::probe;
    pub use crate::snapshot::{BulkSnapshots, SnapshotWrite, capture, version, written};
}
pub use crate::snapshot::{LoadRows, SnapshotRow};
/// Nested entities: the tree read's hydration and the child batches of a parent's write.
pub mod nested {
    pub use crate::nested::{
        NestedNode, adopt, attach, give_back, give_created, hydrate, into_map, keep, restore,
        str_eq, take_changed, take_new,
    };
}
