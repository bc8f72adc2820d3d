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
