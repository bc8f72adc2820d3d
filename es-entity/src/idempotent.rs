//! [`Idempotent`]: the result of a command that may already have been applied.

/// The outcome of a mutation that is skipped when its effect is already
/// present in the entity's events. See [`idempotency_guard!`](crate::idempotency_guard).
///
/// ```
/// use es_entity::Idempotent;
/// let done: Idempotent<u32> = Idempotent::Executed(7);
/// assert!(done.did_execute());
/// assert_eq!(done.unwrap(), 7);
/// let skipped: Idempotent<u32> = Idempotent::AlreadyApplied;
/// assert!(skipped.was_already_applied());
/// ```
#[must_use = "an Idempotent result says whether anything happened"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent<T> {
    /// The command ran and produced `T`.
    Executed(T),
    /// The command's effect was already in the history; nothing changed.
    AlreadyApplied,
}

impl<T> Idempotent<T> {
    /// Whether the command ran.
    pub fn did_execute(&self) -> bool {
        matches!(self, Self::Executed(_))
    }

    /// Whether the command was skipped.
    pub fn was_already_applied(&self) -> bool {
        matches!(self, Self::AlreadyApplied)
    }

    /// The value of an executed command.
    ///
    /// # Panics
    /// When the command was already applied.
    #[track_caller]
    pub fn unwrap(self) -> T {
        match self {
            Self::Executed(t) => t,
            Self::AlreadyApplied => panic!("called `Idempotent::unwrap()` on `AlreadyApplied`"),
        }
    }

    /// The value, if the command ran.
    pub fn executed(self) -> Option<T> {
        match self {
            Self::Executed(t) => Some(t),
            Self::AlreadyApplied => None,
        }
    }
}

/// What [`idempotency_guard!`](crate::idempotency_guard) returns from the
/// enclosing function when the command was already applied: implemented for
/// `Idempotent<T>` and for `Result<Idempotent<T>, E>`, so a command may
/// return either.
///
/// ```
/// use es_entity::{idempotency_guard, Idempotent};
/// enum Event { Closed }
/// #[derive(Debug)]
/// struct Empty;
/// fn close(events: &mut Vec<Event>) -> Result<Idempotent<usize>, Empty> {
///     idempotency_guard!(events.iter().rev(), already_applied: Event::Closed);
///     if events.is_empty() {
///         return Err(Empty);
///     }
///     events.push(Event::Closed);
///     Ok(Idempotent::Executed(events.len()))
/// }
/// assert!(close(&mut vec![]).is_err());
/// let mut events = vec![Event::Closed];
/// assert!(close(&mut events).unwrap().was_already_applied());
/// ```
#[diagnostic::on_unimplemented(
    message = "`idempotency_guard!` cannot return `AlreadyApplied` as `{Self}`",
    label = "the enclosing function returns `{Self}`",
    note = "a function using `idempotency_guard!` returns `Idempotent<T>` or `Result<Idempotent<T>, E>`"
)]
pub trait FromAlreadyApplied {
    /// The value that says "already applied".
    fn from_already_applied() -> Self;
}

impl<T> FromAlreadyApplied for Idempotent<T> {
    fn from_already_applied() -> Self {
        Idempotent::AlreadyApplied
    }
}

impl<T, E> FromAlreadyApplied for Result<Idempotent<T>, E> {
    fn from_already_applied() -> Self {
        Ok(Idempotent::AlreadyApplied)
    }
}
