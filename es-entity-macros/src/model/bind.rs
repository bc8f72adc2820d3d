//! Who checks that a column's declared Rust type fits its SQL column.
//!
//! sqlx checks a parameter at compile time (online or from `.sqlx/`) when
//! the statement binds it without an `as T` override and the Rust type is
//! one of its built-in mappings (`i32` for `INT4`, `&str` for `TEXT`, ...).
//! A type sqlx has no mapping for (an entity id, a `#[derive(sqlx::Type)]`
//! enum or newtype) needs the override, which switches that check off, so
//! the repository checks it against the catalog on first use instead.
//! Which side a type falls on is decided here, from how it is written:
//! sqlx decides the same way (by name) when it picks the type it expects.

/// How a bound value is checked against its column.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Check {
    /// A built-in mapping: bound as `&T`, sqlx compares it with the column.
    Sqlx,
    /// `Option<T>` of a built-in mapping: bound as `Option<&T>`.
    SqlxNullable,
    /// Any other type: bound with `as &T` and checked on first use.
    FirstUse,
}

pub(crate) fn check_of(ty: &syn::Type) -> Check {
    if let Some(inner) = option_inner(ty) {
        return if builtin(inner) {
            Check::SqlxNullable
        } else {
            Check::FirstUse
        };
    }
    if builtin(ty) {
        Check::Sqlx
    } else {
        Check::FirstUse
    }
}

/// `T` of `Option<T>` (however the path to `Option` is written).
pub(crate) fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    single_arg(ty, "Option")
}

/// The last path segment's name and its single type argument, if any.
fn single_arg<'a>(ty: &'a syn::Type, name: &str) -> Option<&'a syn::Type> {
    let seg = last_segment(ty)?;
    if seg.ident != name {
        return None;
    }
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        syn::Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

/// Whether sqlx maps a PostgreSQL type to this Rust type (sqlx-postgres
/// `type_checking.rs`, with the features es-entity enables: `uuid`, `chrono`,
/// `json`), so that it can compare the two at compile time.
fn builtin(ty: &syn::Type) -> bool {
    is_bytes(ty) || scalar(ty)
}

/// `Vec<u8>`: `BYTEA`, a scalar.
fn is_bytes(ty: &syn::Type) -> bool {
    single_arg(ty, "Vec")
        .and_then(last_segment)
        .is_some_and(|s| s.ident == "u8" && s.arguments.is_empty())
}

/// `Vec<T>` other than `Vec<u8>`, inside an `Option` or not: an array
/// column, which bulk writes cannot send (they send each column as one
/// array, and PostgreSQL has no arrays of arrays).
pub(crate) fn is_array(ty: &syn::Type) -> bool {
    let ty = option_inner(ty).unwrap_or(ty);
    single_arg(ty, "Vec").is_some() && !is_bytes(ty)
}

/// `String` (however the path to it is written), whose lookups take `impl AsRef<str>`.
pub(crate) fn is_string(ty: &syn::Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "String" && s.arguments.is_empty())
}

fn scalar(ty: &syn::Type) -> bool {
    let Some(seg) = last_segment(ty) else {
        return false;
    };
    let name = seg.ident.to_string();
    let bare = seg.arguments.is_empty();
    match name.as_str() {
        "String" | "bool" | "i8" | "i16" | "i32" | "i64" | "f32" | "f64" | "Uuid" | "NaiveDate"
        | "NaiveTime" | "NaiveDateTime" | "JsonValue" | "Decimal" | "BigDecimal" => bare,
        // `chrono::DateTime<Utc>`: sqlx's mapping for TIMESTAMPTZ.
        "DateTime" => single_arg(ty, "DateTime")
            .and_then(last_segment)
            .is_some_and(|s| s.ident == "Utc"),
        // `serde_json::Value` (a bare `Value` could be anything).
        "Value" => bare && path_has(ty, "serde_json"),
        _ => false,
    }
}

fn path_has(ty: &syn::Type, module: &str) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.iter().any(|s| s.ident == module),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Check, check_of};

    fn check(ty: &str) -> Check {
        check_of(&syn::parse_str(ty).unwrap())
    }

    #[test]
    fn builtins_are_checked_by_sqlx() {
        for ty in [
            "String",
            "std::string::String",
            "i32",
            "i64",
            "f64",
            "bool",
            "uuid::Uuid",
            "chrono::DateTime<chrono::Utc>",
            "DateTime<Utc>",
            "serde_json::Value",
            "Vec<u8>",
        ] {
            assert_eq!(check(ty), Check::Sqlx, "{ty}");
        }
        assert_eq!(check("Option<String>"), Check::SqlxNullable);
        assert_eq!(check("core::option::Option<i32>"), Check::SqlxNullable);
    }

    #[test]
    fn other_types_are_checked_on_first_use() {
        for ty in [
            "MemberId",
            "Status",
            "Option<Status>",
            "Value",
            "DateTime<Local>",
        ] {
            assert_eq!(check(ty), Check::FirstUse, "{ty}");
        }
    }

    #[test]
    fn arrays() {
        for ty in ["Vec<String>", "Option<Vec<i32>>", "Vec<Status>"] {
            assert!(super::is_array(&syn::parse_str(ty).unwrap()), "{ty}");
        }
        assert!(!super::is_array(&syn::parse_str("Vec<u8>").unwrap()));
    }
}
