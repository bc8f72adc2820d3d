//! [`EventJson`]: an event's stored JSON, decoded once, straight into the event type.

use sqlx::postgres::{PgTypeInfo, PgValueFormat, PgValueRef, Postgres};
use sqlx::{Decode, TypeInfo, ValueRef};

/// The `event` column of one stored event, as UTF-8 JSON text.
///
/// Repositories read the column into this type and hydration parses it with
/// `serde_json::from_slice` directly into the event enum: one parse, no
/// intermediate `serde_json::Value`.
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
        let binary_jsonb =
            value.format() == PgValueFormat::Binary && value.type_info().name() == "JSONB";
        let mut bytes = value.as_bytes()?;
        if binary_jsonb {
            // Binary JSONB is a version byte (1) followed by the JSON text.
            match bytes.split_first() {
                Some((1, rest)) => bytes = rest,
                Some((v, _)) => return Err(format!("unsupported JSONB format version {v}").into()),
                None => return Err("empty JSONB value".into()),
            }
        }
        Ok(Self(bytes.to_vec()))
    }
}
