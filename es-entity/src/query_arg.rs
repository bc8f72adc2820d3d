//! `es_query!` arguments that are entity ids bind as their UUID.
//!
//! sqlx checks each argument of `query_as!` against the parameter's SQL type:
//! a `uuid` parameter wants `Uuid`, so a `MemberId` fails with "expected
//! `Uuid`, found `MemberId`". `es_query!` rewrites an argument `x` that is a
//! variable or a field (`&x` keeps its `&`) into the place expression
//!
//! ```text
//! *(&Probe::of(&x)).es_query_kind().convert(&x)
//! ```
//!
//! Method resolution on the concrete type picks `convert`: for an id declared
//! with `entity_id!` (or a reference to one) it returns `&Uuid`, the UUID
//! inside the id; for every other type it returns `&x` itself, so the
//! argument is exactly the place it was and sqlx checks it as before. Nothing
//! is moved or copied. (The "autoref specialization" `anyhow!` uses.)

use std::marker::PhantomData;

use uuid::Uuid;

/// Implemented by every id that `entity_id!` declares.
pub trait EntityIdArg {
    /// The UUID inside the id.
    fn uuid_ref(&self) -> &Uuid;
}

/// Carries the argument's type for method resolution; holds no value.
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// The probe of `value`'s type.
    pub fn of(_: &T) -> Self {
        Probe(PhantomData)
    }
}

/// An id: the UUID inside it.
pub struct IdKind;
impl IdKind {
    pub fn convert<T: EntityIdArg>(self, v: &T) -> &Uuid {
        v.uuid_ref()
    }
}

/// A reference to an id: the UUID inside it.
pub struct IdRefKind;
impl IdRefKind {
    pub fn convert<'a, T: EntityIdArg>(self, v: &&'a T) -> &'a Uuid {
        v.uuid_ref()
    }
}

/// Anything else: the argument itself.
pub struct PlainKind;
impl PlainKind {
    pub fn convert<T>(self, v: &T) -> &T {
        v
    }
}

pub trait ViaId {
    fn es_query_kind(&self) -> IdKind {
        IdKind
    }
}
impl<T: EntityIdArg> ViaId for Probe<T> {}

pub trait ViaIdRef {
    fn es_query_kind(&self) -> IdRefKind {
        IdRefKind
    }
}
impl<T: EntityIdArg> ViaIdRef for Probe<&T> {}

/// One autoref further out: chosen only when no id kind applies.
pub trait ViaPlain {
    fn es_query_kind(&self) -> PlainKind {
        PlainKind
    }
}
impl<T> ViaPlain for &Probe<T> {}
