//! Items only generated code uses. Not part of the public API.

pub use chrono;
pub use serde;
pub use serde_json;
pub use sqlx;
pub use uuid;
