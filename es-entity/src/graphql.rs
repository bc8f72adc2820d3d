//! GraphQL connections for listings (feature `graphql`, async-graphql).
//!
//! A listing's cursor becomes an opaque, URL-safe connection cursor
//! ([`OpaqueCursor`]: the cursor's JSON in unpadded base64url), and a page
//! becomes a `Connection` with one edge per entity, each with its own
//! cursor, plus `hasNextPage` ([`PaginatedQueryRet::into_connection`]).
//!
//! ```
//! use es_entity::graphql::OpaqueCursor;
//! use async_graphql::connection::CursorType;
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct ByName { name: String, id: u32 }
//!
//! let cursor = OpaqueCursor(ByName { name: "a b/c".into(), id: 7 });
//! let text = cursor.encode_cursor();
//! assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
//! assert_eq!(OpaqueCursor::<ByName>::decode_cursor(&text).unwrap().0, cursor.0);
//! assert!(OpaqueCursor::<ByName>::decode_cursor("not*base64").is_err());
//! ```

use async_graphql::OutputType;
use async_graphql::connection::{Connection, CursorType, Edge};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::pagination::{PaginatedQueryArgs, PaginatedQueryRet};

/// A listing cursor as a GraphQL connection cursor: opaque to clients,
/// safe in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueCursor<C>(pub C);

/// Why a connection cursor from a client is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// Not unpadded base64url.
    #[error("the cursor is not a cursor of this listing (bad encoding)")]
    Encoding,
    /// Decodes, but not to this listing's cursor.
    #[error("the cursor is not a cursor of this listing: {0}")]
    Json(#[from] serde_json::Error),
}

impl<C: Serialize + DeserializeOwned> CursorType for OpaqueCursor<C> {
    type Error = CursorError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = base64url::decode(s).ok_or(CursorError::Encoding)?;
        Ok(Self(serde_json::from_slice(&bytes)?))
    }

    fn encode_cursor(&self) -> String {
        // A cursor is plain data: serializing it does not fail.
        let json = serde_json::to_vec(&self.0).unwrap_or_default();
        base64url::encode(&json)
    }
}

impl<C> PaginatedQueryArgs<C> {
    /// The arguments of a connection field (`first`, `after`): `first`
    /// entities (or `default_first`) after the cursor.
    pub fn from_connection(
        first: Option<usize>,
        after: Option<OpaqueCursor<C>>,
        default_first: usize,
    ) -> Self {
        Self {
            first: first.unwrap_or(default_first),
            after: after.map(|c| c.0),
        }
    }
}

impl<T, C> PaginatedQueryRet<T, C>
where
    C: for<'a> From<&'a T> + Serialize + DeserializeOwned + Send + Sync,
{
    /// The page as a connection of its entities, each edge with its
    /// entity's cursor. `has_previous_page`: whether the page was read after
    /// a cursor (a listing does not know more).
    pub fn into_connection(self, has_previous_page: bool) -> Connection<OpaqueCursor<C>, T>
    where
        T: OutputType,
    {
        self.into_connection_of(has_previous_page, |entity| entity)
    }

    /// [`Self::into_connection`] with each entity turned into the node type
    /// the schema shows.
    pub fn into_connection_of<N: OutputType>(
        self,
        has_previous_page: bool,
        node: impl FnMut(T) -> N,
    ) -> Connection<OpaqueCursor<C>, N> {
        self.into_connection_with(has_previous_page, |entity| C::from(entity), node)
    }
}

impl<T, C> PaginatedQueryRet<T, C>
where
    C: Serialize + DeserializeOwned + Send + Sync,
{
    /// The page as a connection whose edges get their cursors from `cursor`:
    /// for a cursor enum, which needs the listing order, e.g.
    /// `|t| TaskCursor::of(sort_by, t)` on a `list_for_filters` page.
    pub fn into_connection_with<N: OutputType>(
        self,
        has_previous_page: bool,
        mut cursor: impl FnMut(&T) -> C,
        mut node: impl FnMut(T) -> N,
    ) -> Connection<OpaqueCursor<C>, N> {
        let mut connection = Connection::new(has_previous_page, self.has_next_page);
        connection.edges = self
            .entities
            .into_iter()
            .map(|entity| Edge::new(OpaqueCursor(cursor(&entity)), node(entity)))
            .collect();
        connection
    }
}

/// Unpadded base64url (RFC 4648 §5), the cursor's text form.
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
        let values: Vec<u32> = text
            .bytes()
            .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
            .collect::<Option<_>>()?;
        if values.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(values.len() * 3 / 4);
        for chunk in values.chunks(4) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, v)| n | (v << (18 - 6 * i)));
            for i in 0..chunk.len() - 1 {
                out.push(((n >> (16 - 8 * i)) & 255) as u8);
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trips_every_length() {
            for len in 0..20 {
                let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
                let text = super::encode(&bytes);
                assert_eq!(super::decode(&text), Some(bytes), "{text}");
            }
            assert_eq!(super::encode(b"hello"), "aGVsbG8");
            assert_eq!(super::decode("a"), None);
        }
    }
}
