//! The `event` column as reads receive it: [`ParsedEvent`], parsed straight
//! from the row into the event type, or [`EventJson`], raw JSON text parsed
//! during hydration. Both implement [`EventPayload`].

use sqlx::postgres::{PgTypeInfo, PgValueFormat, PgValueRef, Postgres};
use sqlx::{Decode, TypeInfo, ValueRef};

/// The stored form of one event, turned into the event type during
/// hydration. Parse failures stay values until then, so hydration can report
/// them as typed errors naming the entity and the sequence.
///
/// ```
/// use es_entity::{EventJson, EventPayload};
/// let stored = EventJson::from(serde_json::json!({ "amount": 5 }));
/// let event: serde_json::Value = stored.into_event().unwrap();
/// assert_eq!(event["amount"], 5);
/// ```
pub trait EventPayload<E> {
    /// The event, or why its JSON is not one.
    fn into_event(self) -> Result<E, serde_json::Error>;
}

/// The `event` column of one stored event, as UTF-8 JSON text.
///
/// Hydration parses it with `serde_json::from_slice` directly into the event
/// enum: one parse, no intermediate `serde_json::Value`. Handy for rows built
/// by hand (tests, imports); repositories read into [`ParsedEvent`] instead,
/// which skips copying the text.
///
/// ```
/// use es_entity::EventJson;
/// let json = EventJson::from(serde_json::json!({ "type": "initialized" }));
/// assert_eq!(json.as_bytes(), br#"{"type":"initialized"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventJson(Vec<u8>);

impl EventJson {
    /// The JSON text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<serde_json::Value> for EventJson {
    fn from(value: serde_json::Value) -> Self {
        Self(value.to_string().into_bytes())
    }
}

impl From<String> for EventJson {
    fn from(text: String) -> Self {
        Self(text.into_bytes())
    }
}

impl sqlx::Type<Postgres> for EventJson {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("jsonb")
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        matches!(ty.name(), "JSONB" | "JSON")
    }
}

impl<'r> Decode<'r, Postgres> for EventJson {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(json_text(value)?.to_vec()))
    }
}

/// The JSON text of a `json` or `jsonb` value, borrowed from the row.
fn json_text<'r>(value: PgValueRef<'r>) -> Result<&'r [u8], sqlx::error::BoxDynError> {
    let binary_jsonb =
        value.format() == PgValueFormat::Binary && value.type_info().name() == "JSONB";
    let bytes = value.as_bytes()?;
    if !binary_jsonb {
        return Ok(bytes);
    }
    // Binary JSONB is a version byte (1) followed by the JSON text.
    match bytes.split_first() {
        Some((1, rest)) => Ok(rest),
        Some((v, _)) => Err(format!("unsupported JSONB format version {v}").into()),
        None => Err("empty JSONB value".into()),
    }
}

impl<E: serde::de::DeserializeOwned> EventPayload<E> for EventJson {
    fn into_event(self) -> Result<E, serde_json::Error> {
        serde_json::from_slice(&self.0)
    }
}

/// The `event` column of one stored event, parsed into `E` while the row is
/// decoded, straight from the bytes sqlx received (no copy of the JSON text).
/// A parse failure is kept, not raised, so hydration turns it into an
/// [`EntityHydrationError`](crate::EntityHydrationError) naming the entity,
/// the sequence and what was wrong.
///
/// ```
/// use es_entity::{EventJson, EventPayload, ParsedEvent};
/// let parsed: ParsedEvent<serde_json::Value> =
///     ParsedEvent::from(EventJson::from(serde_json::json!({ "amount": 5 })));
/// assert_eq!(parsed.into_event().unwrap()["amount"], 5);
/// ```
#[derive(Debug)]
pub struct ParsedEvent<E>(Result<E, serde_json::Error>);

// Rows must be `Unpin` for sqlx's streams; nothing ever pins an event in place.
impl<E> Unpin for ParsedEvent<E> {}

impl<E: serde::de::DeserializeOwned> ParsedEvent<E> {
    /// The event of a row that may have none (a nested tree read's row of
    /// another node); `None` reads as JSON `null`, which hydration reports.
    #[doc(hidden)]
    pub fn or_null(event: Option<Self>) -> Self {
        event.unwrap_or_else(|| Self(serde_json::from_slice(b"null")))
    }
}

impl<E> EventPayload<E> for ParsedEvent<E> {
    fn into_event(self) -> Result<E, serde_json::Error> {
        self.0
    }
}

impl<E: serde::de::DeserializeOwned> From<EventJson> for ParsedEvent<E> {
    fn from(json: EventJson) -> Self {
        Self(json.into_event())
    }
}

impl<E> sqlx::Type<Postgres> for ParsedEvent<E> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("jsonb")
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        matches!(ty.name(), "JSONB" | "JSON")
    }
}

impl<'r, E: serde::de::DeserializeOwned> Decode<'r, Postgres> for ParsedEvent<E> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let bytes = json_text(value)?;
        Ok(Self(serde_json::from_slice(bytes)))
    }
}
