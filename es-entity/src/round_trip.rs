//! Event enums whose JSON provably reads back, whatever their values.
//!
//! Every write serializes each new event and, before sending anything,
//! parses it back as a later read would, so that nothing unreadable is
//! stored. For some enums that parse cannot fail, and `#[derive(EsEvent)]`
//! can tell from the enum's definition alone
//! ([`EsEvent::__json_round_trip_proven`](crate::EsEvent)); release builds
//! then skip it. The derive proves it when all of these hold:
//!
//! - the enum has no generics and is `#[serde(tag = "..", rename_all =
//!   "snake_case")]`, with no other serde attribute on it, its variants or
//!   their fields, and no `cfg_attr` anywhere in it;
//! - each variant is a unit variant or has named fields, no field is named
//!   like the tag, and no two variants have the same snake_case name;
//! - the type of every field is [`JsonRoundTrip`].
//!
//! The proof takes the enum's `Serialize` and `Deserialize` to be serde's
//! derives (the attributes it reads are theirs). Debug builds parse every
//! event back even so, and fail the write as they would without the proof,
//! so a hand-written `Deserialize` that breaks that assumption fails in your
//! tests, not in production.

use std::marker::PhantomData;

/// A type whose every value serde_json writes as JSON that reads back into
/// the type, also through the buffering of an internally tagged enum.
/// Floats are not (`NaN` and the infinities are written as `null`), nor are
/// 128-bit integers (the buffering of an internally tagged enum refuses
/// them: "i128 is not supported"), nor times (their text forms are not
/// covered here: they stay checked).
pub trait JsonRoundTrip {}

macro_rules! round_trips {
    ($($t:ty),* $(,)?) => {
        $(impl JsonRoundTrip for $t {})*
    };
}

round_trips!(
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    isize,
    u8,
    u16,
    u32,
    u64,
    usize,
    String,
    uuid::Uuid,
);

impl<T: JsonRoundTrip> JsonRoundTrip for Option<T> {}
impl<T: JsonRoundTrip> JsonRoundTrip for Vec<T> {}
impl<T: JsonRoundTrip> JsonRoundTrip for Box<T> {}

/// Asks whether `T` is [`JsonRoundTrip`] for a concrete `T`, in generated
/// code: `(&Probe::<T>::new()).proven()` with [`Proven`] and [`Unproven`] in
/// scope is `true` exactly when it is (method lookup takes the by-reference
/// impl first, and falls back to the one that needs one more reference).
pub struct Probe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Probe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer for a [`JsonRoundTrip`] type.
pub trait Proven {
    /// `true`.
    fn proven(&self) -> bool {
        true
    }
}

impl<T: JsonRoundTrip + ?Sized> Proven for Probe<T> {}

/// The answer for any other type.
pub trait Unproven {
    /// `false`.
    fn proven(&self) -> bool {
        false
    }
}

impl<T: ?Sized> Unproven for &Probe<T> {}

/// Whether a write parses `E`'s serialized events back before sending them:
/// always in debug builds, otherwise unless the derive proved they read back.
pub(crate) fn read_back<E: crate::EsEvent>() -> bool {
    cfg!(debug_assertions) || !E::__json_round_trip_proven()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Float(#[allow(dead_code)] f64);

    // The borrow is what the probe works by: without it an unproven type
    // finds no method at all.
    #[allow(clippy::needless_borrow)]
    #[test]
    fn the_probe_answers_for_concrete_types() {
        #[allow(unused_imports)]
        use super::{Proven as _, Unproven as _};
        assert!((&Probe::<String>::new()).proven());
        assert!((&Probe::<Option<Vec<u64>>>::new()).proven());
        assert!(!(&Probe::<f64>::new()).proven());
        assert!(!(&Probe::<Vec<Float>>::new()).proven());
        assert!(!(&Probe::<i128>::new()).proven());
    }
}
