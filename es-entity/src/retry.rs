//! Retrying the load → mutate → save cycle when another writer got there first.

use std::future::Future;
use std::time::Duration;

use crate::repo_error::{EntityColumn, ModifyError};
use crate::sqlx_errors::is_transient_sqlx;

/// How often and how patiently to retry. Delays grow exponentially from
/// `base_delay` up to `max_delay`, with full jitter (a uniformly random delay
/// between zero and that bound), so writers that collided spread out.
///
/// ```
/// use std::time::Duration;
/// use es_entity::RetryPolicy;
/// let policy = RetryPolicy::new(4).base_delay(Duration::from_millis(2));
/// assert_eq!(policy.max_attempts(), 4);
/// assert!(policy.delay_bound(3) == Duration::from_millis(8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    retry_transient: bool,
}

impl Default for RetryPolicy {
    /// 5 attempts, delays from 5 ms up to 500 ms, concurrency conflicts only.
    fn default() -> Self {
        Self::new(5)
    }
}

impl RetryPolicy {
    /// At most `max_attempts` runs in all (at least one).
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(500),
            retry_transient: false,
        }
    }

    /// The bound of the first delay.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest bound any delay may reach.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Also retry errors that [`RetryableError::is_transient`] reports
    /// (dropped connections, pool time-outs, deadlocks, serialization failures).
    pub fn retry_transient(mut self, yes: bool) -> Self {
        self.retry_transient = yes;
        self
    }

    /// At most this many runs.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The upper bound of the delay after failed attempt `attempt` (1-based).
    pub fn delay_bound(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A random delay in `0..=delay_bound(attempt)` (full jitter).
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.delay_bound(attempt).as_nanos() as u64;
        let random = uuid::Uuid::new_v4().as_u64_pair().0;
        Duration::from_nanos(if bound == 0 { 0 } else { random % (bound + 1) })
    }

    /// Whether failed attempt `attempt` (1-based) is run again: `err` is a
    /// lost race (or, with [`retry_transient`](Self::retry_transient), a
    /// transient error) and the policy has attempts left. A conflict or
    /// retried transient error is logged as a `tracing` warning (target
    /// `es_entity::retry`), as [`retry_on_concurrent_modification`] does,
    /// whose decisions this is. For a loop of your own:
    ///
    /// ```no_run
    /// # use es_entity::*;
    /// # async fn demo<E: RetryableError>(policy: RetryPolicy, mut cycle: impl AsyncFnMut() -> Result<(), E>) -> Result<(), E> {
    /// let mut attempt = 1;
    /// loop {
    ///     match cycle().await {
    ///         Ok(()) => break,
    ///         Err(e) if policy.should_retry(attempt, &e) => {
    ///             policy.backoff(attempt).await;
    ///             attempt += 1;
    ///         }
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn should_retry<E: RetryableError + ?Sized>(&self, attempt: u32, err: &E) -> bool {
        let retry = if let Some(c) = err.concurrent_modification() {
            tracing::warn!(
                target: "es_entity::retry",
                entity = c.entity,
                entity_id = %c.entity_id,
                expected_sequence = c.expected_sequence,
                expected_version = c.expected_version,
                actual_version = c.actual_version,
                gap = c.gap(),
                attempt,
                max_attempts = self.max_attempts,
                "concurrent modification"
            );
            true
        } else if self.retry_transient && err.is_transient() {
            tracing::warn!(target: "es_entity::retry", attempt, "transient error, retrying");
            true
        } else {
            false
        };
        retry && attempt < self.max_attempts
    }

    /// Sleeps the backoff after failed attempt `attempt`: [`delay`](Self::delay).
    pub async fn backoff(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

/// A lost optimistic-concurrency race, as the retry loop reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The entity type.
    pub entity: &'static str,
    /// The entity's id, displayed.
    pub entity_id: String,
    /// The sequence the losing writer tried to write: `expected_version + 1`.
    pub expected_sequence: usize,
    /// The version (number of events) the writer expected the stream at.
    pub expected_version: usize,
    /// The version the stream had, when known (see
    /// `ModifyError::ConcurrentModification`).
    pub actual_version: Option<usize>,
}

impl Conflict {
    /// How many events the stream was ahead of (positive) or behind
    /// (negative) the expected version, when the actual version is known.
    ///
    /// ```
    /// let c = es_entity::Conflict {
    ///     entity: "Account",
    ///     entity_id: "a".into(),
    ///     expected_sequence: 6,
    ///     expected_version: 5,
    ///     actual_version: Some(7),
    /// };
    /// assert_eq!(c.gap(), Some(2));
    /// ```
    pub fn gap(&self) -> Option<i64> {
        let signed = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.actual_version
            .map(|actual| signed(actual) - signed(self.expected_version))
    }
}

#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say which errors are lost concurrency races",
    label = "retrying needs `{Self}: es_entity::RetryableError`",
    note = "repository `ModifyError`s implement it; for your own error type, implement it by delegating to the repository error it wraps"
)]
/// Errors the retry loop understands. Implemented for every repository's
/// `ModifyError`; implement it for your own error type by delegating to the
/// repository error it wraps.
pub trait RetryableError {
    /// The conflict, if this error is a lost concurrency race.
    fn concurrent_modification(&self) -> Option<Conflict>;

    /// Whether the error is worth retrying as such (only used when the policy
    /// opts in with [`RetryPolicy::retry_transient`]).
    fn is_transient(&self) -> bool {
        false
    }
}

impl<C: EntityColumn> RetryableError for ModifyError<C> {
    fn concurrent_modification(&self) -> Option<Conflict> {
        match self {
            ModifyError::ConcurrentModification {
                entity_id,
                expected_sequence,
                expected_version,
                actual_version,
            } => Some(Conflict {
                entity: C::ENTITY,
                entity_id: entity_id.to_string(),
                expected_sequence: *expected_sequence,
                expected_version: *expected_version,
                actual_version: *actual_version,
            }),
            ModifyError::Nested(n) => {
                let (entity_id, (expected_version, actual_version)) =
                    n.conflict.clone().zip(n.conflict_versions)?;
                Some(Conflict {
                    entity: n.conflict_entity.unwrap_or(n.entity),
                    entity_id,
                    expected_sequence: expected_version + 1,
                    expected_version,
                    actual_version,
                })
            }
            _ => None,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            ModifyError::Sqlx(e) => is_transient_sqlx(e),
            // The hook's own statements ran in the write's transaction,
            // which was rolled back: a transient failure there is as
            // retryable as one of the write's statement.
            ModifyError::PostPersistHook(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// A result and how many attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried<T> {
    /// What the successful attempt returned.
    pub value: T,
    /// 1 when the first attempt succeeded.
    pub attempts: u32,
}

/// Runs `attempt` (a whole load → mutate → save cycle) until it succeeds, the
/// error is not retryable, or the policy's attempts are used up. Every
/// conflict is logged as a `tracing` warning (target `es_entity::retry`) with
/// the entity type, id, expected sequence, expected and actual version, the
/// gap between them and the attempt number.
///
/// ```no_run
/// # use es_entity::*;
/// # async fn demo<R, E, Fut>(deposit: impl FnMut() -> Fut) -> Result<(), E>
/// # where Fut: std::future::Future<Output = Result<(), E>>, E: RetryableError {
/// let done = retry_on_concurrent_modification(&RetryPolicy::new(5), deposit).await?;
/// println!("took {} attempts", done.attempts);
/// # Ok(()) }
/// ```
pub async fn retry_on_concurrent_modification<T, E, F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
) -> Result<Retried<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: RetryableError,
{
    let mut n = 1;
    loop {
        let err = match attempt().await {
            Ok(value) => return Ok(Retried { value, attempts: n }),
            Err(err) => err,
        };
        if !policy.should_retry(n, &err) {
            return Err(err);
        }
        policy.backoff(n).await;
        n += 1;
    }
}
