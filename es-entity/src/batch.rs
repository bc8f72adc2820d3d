//! Batch isolation: write a batch so that the items that fail are set
//! aside, each with its own error, while the others are written.
//!
//! `create_all` and `update_all` are all or nothing: one bad item fails the
//! whole statement. The functions here run such a write on the whole batch
//! first; when it fails they split the batch in halves and try each half,
//! down to single items, so a batch of `n` with `k` bad items costs about
//! `1 + 2k·log2(n)` writes and a clean batch costs one.
//!
//! - [`isolate_in_op`] and [`isolate_mut_in_op`] work inside your
//!   transaction: every attempt runs in a savepoint (released when it
//!   succeeds, rolled back when it fails), so a failed attempt does not
//!   spoil the transaction. A clean batch costs its one write plus the
//!   `SAVEPOINT` and `RELEASE` around it.
//! - [`isolate`] and [`isolate_mut`] run each attempt on its own, outside any
//!   transaction (pass the pool variant, `create_all` / `update_all`): a
//!   clean batch is exactly the one statement `create_all` sends, and each
//!   part that succeeds is committed by itself.
//!
//! `isolate` and `isolate_in_op` take owned items (`create_all`'s `Vec` of
//! new entities) and give each failed item back; the `_mut` variants take a
//! slice of entities in place (`update_all`), whose failed members keep
//! their new events unpersisted.
//!
//! An error that says the batch cannot go on (the connection or the
//! transaction is gone, the outcome of a write is unknown, the table does
//! not fit the repository: see [`BatchError`]) stops the bisection: it is
//! returned in [`Isolated::stopped`] and the items not decided yet in
//! [`Isolated::undecided`]. Inside your transaction that means the
//! transaction is unusable; roll it back.
//!
//! The bisection on its own, with a write that rejects any part holding a
//! 3 (in real code the write is `repo.create_all` or, with
//! [`isolate_in_op`], `repo.create_all_in_op`):
//!
//! ```
//! use es_entity::batch::{self, BatchError};
//!
//! #[derive(Debug)]
//! struct HoldsThree;
//! impl BatchError for HoldsThree {
//!     fn stops_batch(&self) -> bool {
//!         false
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let done = batch::isolate(vec![1, 2, 3, 4], async |part: Vec<i32>| {
//!     if part.contains(&3) { Err(HoldsThree) } else { Ok(part) }
//! })
//! .await;
//! let written: Vec<i32> = done.written.iter().map(|(_, n)| *n).collect();
//! assert_eq!(written, [1, 2, 4]);
//! assert_eq!((done.failed[0].index, done.failed[0].item), (2, 3));
//! // The whole batch, its two halves, then 3 and 4 alone.
//! assert_eq!(done.attempts, 5);
//! # }
//! ```

use std::ops::Range;

use crate::Savepoint;
use crate::is_transient_sqlx;
use crate::operation::AtomicOperation;
use crate::repo_error::{CreateError, EntityColumn, ModifyError, UncheckedModifyError};

/// How an error of one attempt bears on the rest of an isolated batch.
///
/// Implemented for the repository errors (`CreateError`, `ModifyError`,
/// `UncheckedModifyError`). An error *stops* the batch when retrying parts
/// of it cannot help or is not safe: the connection was lost or the
/// transaction aborted (a transient `sqlx` error: I/O, pool, `08xxx`,
/// `57P01`, a serialization failure or deadlock), the write's outcome is
/// unknown, or the table's column types do not fit the repository. Every
/// other error (a constraint violation, a conflict, an entity that is not
/// there, an event that would not load) belongs to the items written.
///
/// ```
/// use es_entity::batch::BatchError;
///
/// struct Rejected;
/// impl BatchError for Rejected {
///     fn stops_batch(&self) -> bool {
///         false
///     }
/// }
/// assert!(!Rejected.stops_batch());
/// ```
pub trait BatchError {
    /// Whether the batch must stop here.
    fn stops_batch(&self) -> bool;
}

/// The three repository write errors share their transient and
/// outcome-unknown variants, so they decide alike.
macro_rules! repository_write_error_stops_batch {
    ($($error:ident),+) => {$(
        impl<C: EntityColumn> BatchError for $error<C> {
            fn stops_batch(&self) -> bool {
                match self {
                    $error::Sqlx(e) => is_transient_sqlx(e),
                    $error::OutcomeUnknown(_) | $error::ColumnTypeMismatch(_) => true,
                    $error::PostPersistHook(e) => e.is_transient(),
                    _ => false,
                }
            }
        }
    )+};
}

repository_write_error_stops_batch!(CreateError, ModifyError, UncheckedModifyError);

/// An item that failed on its own, with its error.
#[derive(Debug)]
pub struct Failed<T, E> {
    /// Its position in the batch.
    pub index: usize,
    /// The item: the new entity given back (`isolate`, `isolate_in_op`), or
    /// `()` for the `_mut` variants, whose entities stay in your slice.
    pub item: T,
    /// Why it failed.
    pub error: E,
}

/// What an isolated batch write did.
#[derive(Debug)]
pub struct Isolated<T, R, E> {
    /// What the write returned for each item written, with the item's
    /// position, in batch order (`create_all`: the new entity). For the
    /// `_mut` variants, what each successful write returned for its part
    /// (`update_all`: the number of events), with the part's first
    /// position.
    pub written: Vec<(usize, R)>,
    /// The items that failed on their own, in batch order.
    pub failed: Vec<Failed<T, E>>,
    /// The error that stopped the batch, if one did (see [`BatchError`]).
    pub stopped: Option<E>,
    /// The items not decided when the batch stopped (positions and items),
    /// in batch order: neither written by this call nor known to fail.
    pub undecided: Vec<(usize, T)>,
    /// How many writes were attempted: 1 for a clean batch.
    pub attempts: usize,
}

impl<T, R, E> Isolated<T, R, E> {
    fn new() -> Self {
        Self {
            written: Vec::new(),
            failed: Vec::new(),
            stopped: None,
            undecided: Vec::new(),
            attempts: 0,
        }
    }

    /// Whether every item was written.
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty() && self.stopped.is_none()
    }
}

/// One attempt's outcome as the bisection sees it.
enum Attempt<E> {
    Written,
    /// The part failed; split it (or record it, when it is one item).
    Failed(E),
    /// Stop: this error ends the batch.
    Stop(E),
}

/// Splits `0..len` until every position is written or failed, asking
/// `attempt` about each part, left to right.
async fn bisect<E>(
    len: usize,
    mut attempt: impl AsyncFnMut(Range<usize>) -> Attempt<E>,
    mut failed: impl FnMut(usize, E),
) -> (usize, Option<(E, Vec<Range<usize>>)>) {
    let mut attempts = 0;
    // Parts still to try, the leftmost last.
    let mut todo: Vec<Range<usize>> = Vec::new();
    if len > 0 {
        todo.push(0..len);
    }
    while let Some(part) = todo.pop() {
        attempts += 1;
        match attempt(part.clone()).await {
            Attempt::Written => {}
            Attempt::Failed(e) if part.len() == 1 => failed(part.start, e),
            Attempt::Failed(_) => {
                let mid = part.start + part.len() / 2;
                todo.push(mid..part.end);
                todo.push(part.start..mid);
            }
            Attempt::Stop(e) => {
                todo.push(part);
                todo.reverse();
                return (attempts, Some((e, todo)));
            }
        }
    }
    (attempts, None)
}

fn classify<E: BatchError>(e: E) -> Attempt<E> {
    if e.stops_batch() {
        Attempt::Stop(e)
    } else {
        Attempt::Failed(e)
    }
}

/// Runs `write` (a savepoint, a part of the batch) in a savepoint of `op`.
async fn in_savepoint<O, A, R, E>(
    op: &mut O,
    part: A,
    write: &mut impl AsyncFnMut(&mut Savepoint<'_>, A) -> Result<R, E>,
) -> Result<R, Attempt<E>>
where
    O: AtomicOperation,
    E: BatchError + From<sqlx::Error>,
{
    let mut sp = op
        .begin_savepoint()
        .await
        .map_err(|e| Attempt::Stop(e.into()))?;
    match write(&mut sp, part).await {
        Ok(value) => {
            sp.release().await.map_err(|e| Attempt::Stop(e.into()))?;
            Ok(value)
        }
        Err(e) => {
            sp.rollback().await.map_err(|e| Attempt::Stop(e.into()))?;
            Err(classify(e))
        }
    }
}

/// Writes `items` with `write` (typically `repo.create_all_in_op`) inside
/// `op`, isolating the items that fail: each attempt in a savepoint, see the
/// [module](self). `write` must return one value per item, in order.
///
/// # Panics
///
/// When `write` succeeds with another number of values than it was given
/// items.
pub async fn isolate_in_op<O, T, R, E>(
    op: &mut O,
    items: Vec<T>,
    mut write: impl AsyncFnMut(&mut Savepoint<'_>, Vec<T>) -> Result<Vec<R>, E>,
) -> Isolated<T, R, E>
where
    O: AtomicOperation,
    T: Clone,
    E: BatchError + From<sqlx::Error>,
{
    let mut done = Isolated::new();
    let mut failed = Vec::new();
    let (attempts, stopped) = bisect(
        items.len(),
        async |part: Range<usize>| {
            let start = part.start;
            let chunk = items[part].to_vec();
            let n = chunk.len();
            match in_savepoint(op, chunk, &mut write).await {
                Ok(values) => {
                    record(&mut done.written, start, n, values);
                    Attempt::Written
                }
                Err(attempt) => attempt,
            }
        },
        |index, error| failed.push((index, error)),
    )
    .await;
    finish(&mut done, attempts, failed, stopped, |i| items[i].clone());
    done
}

/// Writes `items` with `write` (typically the pool variant
/// `repo.create_all`), each attempt on its own outside any transaction, see
/// the [module](self). A clean batch is the one call. `write` must return
/// one value per item, in order.
///
/// # Panics
///
/// When `write` succeeds with another number of values than it was given
/// items.
pub async fn isolate<T, R, E>(
    items: Vec<T>,
    mut write: impl AsyncFnMut(Vec<T>) -> Result<Vec<R>, E>,
) -> Isolated<T, R, E>
where
    T: Clone,
    E: BatchError,
{
    let mut done = Isolated::new();
    let mut failed = Vec::new();
    let (attempts, stopped) = bisect(
        items.len(),
        async |part: Range<usize>| {
            let start = part.start;
            let chunk = items[part].to_vec();
            let n = chunk.len();
            match write(chunk).await {
                Ok(values) => {
                    record(&mut done.written, start, n, values);
                    Attempt::Written
                }
                Err(e) => classify(e),
            }
        },
        |index, error| failed.push((index, error)),
    )
    .await;
    finish(&mut done, attempts, failed, stopped, |i| items[i].clone());
    done
}

/// Writes the new events of `entities` with `write` (typically
/// `repo.update_all_in_op`) inside `op`, isolating the entities that fail:
/// each attempt in a savepoint, see the [module](self). A failed entity
/// keeps its new events unpersisted; reload it before trying again.
pub async fn isolate_mut_in_op<O, T, R, E>(
    op: &mut O,
    entities: &mut [T],
    mut write: impl AsyncFnMut(&mut Savepoint<'_>, &mut [T]) -> Result<R, E>,
) -> Isolated<(), R, E>
where
    O: AtomicOperation,
    E: BatchError + From<sqlx::Error>,
{
    let mut done = Isolated::new();
    let mut failed = Vec::new();
    let (attempts, stopped) = bisect(
        entities.len(),
        async |part: Range<usize>| {
            let start = part.start;
            match in_savepoint(op, &mut entities[part], &mut write).await {
                Ok(value) => {
                    done.written.push((start, value));
                    Attempt::Written
                }
                Err(attempt) => attempt,
            }
        },
        |index, error| failed.push((index, error)),
    )
    .await;
    finish(&mut done, attempts, failed, stopped, |_| ());
    done
}

/// Writes the new events of `entities` with `write` (typically the pool
/// variant `repo.update_all`), each attempt on its own outside any
/// transaction, see the [module](self). A clean batch is the one call. A
/// failed entity keeps its new events unpersisted.
pub async fn isolate_mut<T, R, E>(
    entities: &mut [T],
    mut write: impl AsyncFnMut(&mut [T]) -> Result<R, E>,
) -> Isolated<(), R, E>
where
    E: BatchError,
{
    let mut done = Isolated::new();
    let mut failed = Vec::new();
    let (attempts, stopped) = bisect(
        entities.len(),
        async |part: Range<usize>| {
            let start = part.start;
            match write(&mut entities[part]).await {
                Ok(value) => {
                    done.written.push((start, value));
                    Attempt::Written
                }
                Err(e) => classify(e),
            }
        },
        |index, error| failed.push((index, error)),
    )
    .await;
    finish(&mut done, attempts, failed, stopped, |_| ());
    done
}

fn record<R>(written: &mut Vec<(usize, R)>, start: usize, n: usize, values: Vec<R>) {
    assert_eq!(
        values.len(),
        n,
        "es_entity::batch: the write returned {} values for {n} items",
        values.len()
    );
    written.extend((start..).zip(values));
}

fn finish<T, R, E>(
    done: &mut Isolated<T, R, E>,
    attempts: usize,
    failed: Vec<(usize, E)>,
    stopped: Option<(E, Vec<Range<usize>>)>,
    item: impl Fn(usize) -> T,
) {
    done.attempts = attempts;
    done.failed = failed
        .into_iter()
        .map(|(index, error)| Failed {
            index,
            item: item(index),
            error,
        })
        .collect();
    if let Some((error, parts)) = stopped {
        done.stopped = Some(error);
        done.undecided = parts.into_iter().flatten().map(|i| (i, item(i))).collect();
    }
}
