//! Helpers of the spans the `instrument` feature puts around generated
//! repository methods.

use std::borrow::Borrow;

use crate::traits::EsEntity;

/// The id of the entity a method was given (`&T`, `&mut T` or `T`), as text.
pub fn entity_id<T: EsEntity, B: Borrow<T>>(entity: &B) -> String {
    entity.borrow().events().id().to_string()
}

/// Marks `span` failed when `result` is an error: `error.type` is the
/// error's type (its last path segments, generics dropped), a value of low
/// cardinality as OpenTelemetry asks; `otel.status_code` is `ERROR`.
pub fn record_error<T, E>(span: &tracing::Span, result: &Result<T, E>) {
    if result.is_err() {
        span.record("error.type", short_type_name::<E>());
        span.record("otel.status_code", "ERROR");
    }
}

fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_names_drop_paths_and_generics() {
        assert_eq!(
            super::short_type_name::<std::collections::HashMap<u8, Vec<u8>>>(),
            "HashMap"
        );
        assert_eq!(super::short_type_name::<sqlx::Error>(), "Error");
    }
}
