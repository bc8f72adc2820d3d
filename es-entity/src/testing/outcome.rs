//! [`IdempotentOutcome`]: what [`When::then_already_applied`](super::When::then_already_applied)
//! can check, the results of idempotent commands.

use crate::idempotent::Idempotent;

/// What an idempotent command returns, for [`When::then_already_applied`](super::When::then_already_applied):
/// [`Idempotent<T>`] and `Result<Idempotent<T>, E>` (with `E: Debug`, to
/// show an unexpected error). Sealed.
///
/// A command returning anything else has no "already applied" to check;
/// [`When::then_no_new_events`](super::When::then_no_new_events) is the check for it:
///
/// ```compile_fail,E0277
/// # use es_entity::prelude::*;
/// # entity_id! { NoteId }
/// # #[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "NoteId")]
/// # pub enum NoteEvent { Written { text: String } }
/// # #[derive(EsEntity)]
/// # pub struct Note { text: String, events: EntityEvents<NoteEvent> }
/// # impl TryFromEvents<NoteEvent> for Note {
/// #     fn try_from_events(events: EntityEvents<NoteEvent>) -> Result<Self, EntityHydrationError> {
/// #         let text = events.iter_all().map(|NoteEvent::Written { text }| text.clone()).last();
/// #         Ok(Note { text: text.ok_or_else(|| events.missing_field("text"))?, events })
/// #     }
/// # }
/// # pub struct NewNote;
/// # impl IntoEvents<NoteEvent> for NewNote {
/// #     fn into_events(self) -> EntityEvents<NoteEvent> { unimplemented!() }
/// # }
/// # impl Note {
/// #     pub fn write(&mut self, text: &str) {
/// #         self.events.push(NoteEvent::Written { text: text.to_owned() });
/// #     }
/// # }
/// use es_entity::testing::given;
///
/// given::<Note>(NoteId::new(), [NoteEvent::Written { text: "a".into() }])
///     .when(|note| note.write("a")) // returns `()`
///     .then_already_applied(); // error: `()` is not an idempotent command's result
/// ```
#[diagnostic::on_unimplemented(
    message = "`then_already_applied` checks a command returning `Idempotent<T>` or `Result<Idempotent<T>, E>`, not `{Self}`",
    label = "this command returns `{Self}`",
    note = "to check that a command recorded no events whatever it returned, use `then_no_new_events`"
)]
pub trait IdempotentOutcome: sealed::Sealed {}

impl<T> IdempotentOutcome for Idempotent<T> {}

impl<T, E: std::fmt::Debug> IdempotentOutcome for Result<Idempotent<T>, E> {}

/// What a command's result says, for `then_already_applied`.
pub enum Outcome {
    Executed,
    AlreadyApplied,
    /// The error, shown with `Debug`.
    Failed(String),
}

/// The [`Outcome`] of `result`.
pub(crate) fn outcome<R: IdempotentOutcome>(result: &R) -> Outcome {
    sealed::Sealed::outcome(result)
}

impl<T> sealed::Sealed for Idempotent<T> {
    fn outcome(&self) -> Outcome {
        match self {
            Idempotent::Executed(_) => Outcome::Executed,
            Idempotent::AlreadyApplied => Outcome::AlreadyApplied,
        }
    }
}

impl<T, E: std::fmt::Debug> sealed::Sealed for Result<Idempotent<T>, E> {
    fn outcome(&self) -> Outcome {
        match self {
            Ok(idempotent) => sealed::Sealed::outcome(idempotent),
            Err(err) => Outcome::Failed(format!("{err:?}")),
        }
    }
}

mod sealed {
    /// Unnameable outside the crate: only its implementations here exist,
    /// and only the crate can call `outcome`.
    pub trait Sealed {
        fn outcome(&self) -> super::Outcome;
    }
}
