//! `macro_rules!` helpers: `idempotency_guard!`, `entity_id!`, `es_query!`.

/// Returns [`Idempotent::AlreadyApplied`](crate::Idempotent::AlreadyApplied)
/// from the enclosing function when an event matching `already_applied` is
/// found, walking `$events` (usually `self.events.iter_all().rev()`). With
/// `resets_on`, an event that matches it (and not `already_applied`) stops
/// the search, so the command may run again.
///
/// The enclosing function returns `Idempotent<T>` or
/// `Result<Idempotent<T>, E>` (any type implementing
/// [`FromAlreadyApplied`](crate::FromAlreadyApplied)); in the second form the
/// guard returns `Ok(Idempotent::AlreadyApplied)`.
///
/// ```
/// use es_entity::{idempotency_guard, Idempotent};
/// enum Event { Frozen, Unfrozen }
/// fn freeze(events: &mut Vec<Event>) -> Idempotent<()> {
///     idempotency_guard!(
///         events.iter().rev(),
///         already_applied: Event::Frozen,
///         resets_on: Event::Unfrozen
///     );
///     events.push(Event::Frozen);
///     Idempotent::Executed(())
/// }
/// let mut events = vec![];
/// assert!(freeze(&mut events).did_execute());
/// assert!(freeze(&mut events).was_already_applied());
/// events.push(Event::Unfrozen);
/// assert!(freeze(&mut events).did_execute());
/// ```
#[macro_export]
macro_rules! idempotency_guard {
    ($events:expr, already_applied: $applied:pat $(if $cond:expr)? $(,)?) => {
        for __event in $events {
            #[allow(irrefutable_let_patterns, unreachable_patterns)]
            if let $applied = __event {
                if true $(&& $cond)? {
                    return <_ as $crate::FromAlreadyApplied>::from_already_applied();
                }
            }
        }
    };
    ($events:expr, already_applied: $applied:pat $(if $cond:expr)?, resets_on: $reset:pat $(,)?) => {
        for __event in $events {
            #[allow(irrefutable_let_patterns, unreachable_patterns)]
            if let $applied = __event {
                if true $(&& $cond)? {
                    return <_ as $crate::FromAlreadyApplied>::from_already_applied();
                }
            }
            #[allow(irrefutable_let_patterns, unreachable_patterns)]
            if let $reset = __event {
                break;
            }
        }
    };
}

/// Declares UUID newtype ids, one or several at once. Each is documented
/// (so a crate under `#![deny(missing_docs)]` builds), and attributes
/// written before a name, doc comments included, go on its struct.
///
/// ```
/// es_entity::entity_id! {
///     UserId,
///     /// Orders are placed by users.
///     OrderId,
/// }
/// let id = UserId::new();
/// let parsed: UserId = id.to_string().parse().unwrap();
/// assert_eq!(id, parsed);
/// let raw: uuid::Uuid = id.into();
/// assert_eq!(UserId::from(raw), id);
/// assert_eq!(raw.get_version_num(), 7);
/// // What a repository with `id(source = "repo")` assigns: also version 7.
/// let generated: uuid::Uuid = <OrderId as es_entity::GenerateId>::generate().into();
/// assert_eq!(generated.get_version_num(), 7);
/// ```
#[macro_export]
macro_rules! entity_id {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {
        $($crate::__entity_id_one!($(#[$meta])* $name);)+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __entity_id_one {
    ($(#[$meta:meta])* $name:ident) => {
        #[doc = ::core::concat!("The id of an entity: a UUID (`", ::core::stringify!($name), "::new()` makes a time-ordered v7 one).")]
        $(#[$meta])*
        #[derive(
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::cmp::PartialOrd,
            ::core::cmp::Ord,
            ::core::hash::Hash,
        )]
        pub struct $name($crate::__private::uuid::Uuid);

        #[allow(clippy::new_without_default)]
        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self($crate::__private::uuid::Uuid::now_v7())
            }
        }

        impl $crate::GenerateId for $name {
            fn generate() -> Self {
                Self::new()
            }
        }

        impl $crate::__private::round_trip::JsonRoundTrip for $name {}

        impl $crate::__private::query_arg::EntityIdArg for $name {
            fn uuid_ref(&self) -> &$crate::__private::uuid::Uuid {
                &self.0
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::__private::uuid::Error;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                ::core::result::Result::Ok(Self(s.parse()?))
            }
        }

        impl ::core::convert::From<$crate::__private::uuid::Uuid> for $name {
            fn from(id: $crate::__private::uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl ::core::convert::From<$name> for $crate::__private::uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serde::Serialize::serialize(&self.0, s)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                <$crate::__private::uuid::Uuid as $crate::__private::serde::Deserialize>::deserialize(d)
                    .map(Self)
            }
        }

        impl $crate::__private::sqlx::Type<$crate::__private::sqlx::Postgres> for $name {
            fn type_info() -> $crate::__private::sqlx::postgres::PgTypeInfo {
                <$crate::__private::uuid::Uuid as $crate::__private::sqlx::Type<
                    $crate::__private::sqlx::Postgres,
                >>::type_info()
            }
        }

        impl $crate::__private::sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> $crate::__private::sqlx::postgres::PgTypeInfo {
                <$crate::__private::uuid::Uuid as $crate::__private::sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl<'q> $crate::__private::sqlx::Encode<'q, $crate::__private::sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::__private::sqlx::postgres::PgArgumentBuffer,
            ) -> ::core::result::Result<
                $crate::__private::sqlx::encode::IsNull,
                $crate::__private::sqlx::error::BoxDynError,
            > {
                <$crate::__private::uuid::Uuid as $crate::__private::sqlx::Encode<
                    'q,
                    $crate::__private::sqlx::Postgres,
                >>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> $crate::__private::sqlx::Decode<'r, $crate::__private::sqlx::Postgres> for $name {
            fn decode(
                value: $crate::__private::sqlx::postgres::PgValueRef<'r>,
            ) -> ::core::result::Result<Self, $crate::__private::sqlx::error::BoxDynError> {
                <$crate::__private::uuid::Uuid as $crate::__private::sqlx::Decode<
                    'r,
                    $crate::__private::sqlx::Postgres,
                >>::decode(value)
                .map(Self)
            }
        }
    };
}
