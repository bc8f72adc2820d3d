//! Turns the database error of a write into the repository's typed error.
//!
//! Every decision reads PostgreSQL's structured fields only: the SQLSTATE,
//! the table, the constraint's name and (for NOT NULL) the column. Which
//! columns a constraint covers comes from the catalog, read once per
//! repository and process before its first write ([`Constraints`]), so a
//! constraint of any name is recognised, on a server speaking any language.
//! The message and its detail are translated (`lc_messages`): they are only
//! searched for values the caller already knows (a column name, a batch's
//! ids, the bulk update's marker) to show in the error, never to decide.
//! SQLSTATE class 54 (a value or the statement past one of the server's
//! limits) is [`ServerLimitExceeded`], whichever write it fails.

use crate::bind_limit::ServerLimitExceeded;
use crate::error::ConstraintKind;
use crate::repo_error::{
    ConstraintViolation, CreateError, EntityColumn, ModifyError, UncheckedModifyError,
};
use crate::sqlx_errors::is_connection_lost;

/// One constraint (or unique index) of a repository's tables, as the
/// catalog describes it: the row of the repository's catalog query.
pub struct CatalogConstraint {
    /// The table, without its schema (as PostgreSQL reports it in errors).
    pub table: String,
    /// The constraint's name (a unique index's name when it is no constraint).
    pub name: String,
    /// The columns it covers, in order; an expression is an empty name.
    pub columns: Vec<String>,
}

/// The constraints of a repository's index and events tables.
pub struct Constraints(Vec<CatalogConstraint>);

impl Constraints {
    pub fn new(rows: Vec<CatalogConstraint>) -> Self {
        Self(rows)
    }

    /// The columns of constraint `name` on `table`, if the catalog had it.
    fn columns(&self, table: &str, name: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|c| c.table == table && c.name == name)
            .map(|c| c.columns.as_slice())
    }
}

/// Sorts a database error of a write into a constraint violation or a plain error.
enum WriteFailure<C> {
    /// Unique violation on the events table's `(id, sequence)` key: another
    /// writer took the sequence.
    SequenceTaken(sqlx::Error),
    /// Any other constraint.
    Constraint(ConstraintViolation<C>),
    /// Everything else.
    Other(sqlx::Error),
}

/// `app.user_events` as PostgreSQL names it in errors: `user_events`.
fn bare(table: &str) -> &str {
    table.rsplit('.').next().unwrap_or(table)
}

fn classify<C: EntityColumn>(
    err: sqlx::Error,
    events_table: &str,
    constraints: &Constraints,
) -> WriteFailure<C> {
    let Some(db) = err.as_database_error() else {
        return WriteFailure::Other(err);
    };
    let kind = match db.code().as_deref() {
        Some("23505") => ConstraintKind::Unique,
        Some("23503") => ConstraintKind::ForeignKey,
        Some("23514") => ConstraintKind::Check,
        Some("23502") => ConstraintKind::NotNull,
        _ => return WriteFailure::Other(err),
    };
    let (table, constraint) = (db.table(), db.constraint());
    let columns = table
        .zip(constraint)
        .and_then(|(t, c)| constraints.columns(t, c));
    let events_table = bare(events_table);
    if kind == ConstraintKind::Unique
        && table == Some(events_table)
        && is_sequence_key(columns, constraint, events_table)
    {
        return WriteFailure::SequenceTaken(err);
    }
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    // A constraint on exactly one column names it; NOT NULL reports its column.
    let column_name = match columns {
        Some([one]) if !one.is_empty() => Some(one.as_str()),
        Some(_) => None,
        None => pg.and_then(|p| p.column()),
    };
    let value = column_name
        .zip(pg.and_then(|p| p.detail()))
        .and_then(|(c, d)| value_in_detail(d, c));
    WriteFailure::Constraint(ConstraintViolation {
        kind,
        column: column_name.and_then(C::from_column_name),
        value,
        constraint: constraint.map(str::to_owned),
        source: err,
    })
}

/// Whether a unique violation on the events table is on its `(id, sequence)`
/// key: the catalog says which columns the constraint covers; without the
/// catalog (it could not be read), PostgreSQL's default names for that key.
fn is_sequence_key(columns: Option<&[String]>, constraint: Option<&str>, events: &str) -> bool {
    match columns {
        Some(cols) => cols == ["id", "sequence"],
        None => constraint.is_some_and(|c| {
            c == format!("{events}_id_sequence_key") || c == format!("{events}_pkey")
        }),
    }
}

/// The value shown after `(column)=(` in a key detail (`Key (name)=(Alice)
/// already exists.`, in whatever language): up to the last `)`. Only shown,
/// never decided on.
fn value_in_detail(detail: &str, column: &str) -> Option<String> {
    let key = format!("({column})=(");
    let start = detail.find(&key)? + key.len();
    let rest = &detail[start..];
    rest.rfind(')').map(|end| rest[..end].to_owned())
}

/// `autocommit`: the statement ran outside a transaction, so it committed by
/// itself if the server got to its end.
pub fn create_error<C: EntityColumn>(
    err: sqlx::Error,
    events_table: &str,
    constraints: &Constraints,
    autocommit: bool,
) -> CreateError<C> {
    if let Some(too_large) = crate::bind_limit::batch_too_large(&err) {
        return CreateError::BatchTooLarge(too_large);
    }
    let err = match ServerLimitExceeded::from_sqlx(err) {
        Ok(limit) => return CreateError::ServerLimitExceeded(limit),
        Err(err) => err,
    };
    if autocommit && is_connection_lost(&err) {
        return CreateError::OutcomeUnknown(err);
    }
    match classify::<C>(err, events_table, constraints) {
        WriteFailure::Constraint(v) => CreateError::ConstraintViolation(v),
        // Events for this id already exist: the id is taken.
        WriteFailure::SequenceTaken(source) => {
            CreateError::ConstraintViolation(ConstraintViolation {
                kind: ConstraintKind::Unique,
                column: C::from_column_name("id"),
                value: None,
                constraint: source
                    .as_database_error()
                    .and_then(|d| d.constraint())
                    .map(str::to_owned),
                source,
            })
        }
        WriteFailure::Other(e) => CreateError::Sqlx(e),
    }
}

pub fn modify_error<C: EntityColumn>(
    err: sqlx::Error,
    events_table: &str,
    constraints: &Constraints,
    autocommit: bool,
    entity_id: &C::EntityId,
    expected_version: usize,
) -> ModifyError<C> {
    let err = match ServerLimitExceeded::from_sqlx(err) {
        Ok(limit) => return ModifyError::ServerLimitExceeded(limit),
        Err(err) => err,
    };
    if autocommit && is_connection_lost(&err) {
        return ModifyError::OutcomeUnknown(err);
    }
    match classify::<C>(err, events_table, constraints) {
        WriteFailure::Constraint(v) => ModifyError::ConstraintViolation(v),
        WriteFailure::SequenceTaken(_) => {
            ModifyError::conflict(entity_id.clone(), expected_version)
        }
        WriteFailure::Other(e) => ModifyError::Sqlx(e),
    }
}

/// Classifies the error of a last-writer-wins write. It has no conflict:
/// it appends after the version it read under the entity's row lock, with
/// a fresh snapshot. The `(id, sequence)` key can only be hit when another
/// writer appended without that lock: `LockBypassed`, naming the entity.
pub fn unchecked_modify_error<C: EntityColumn>(
    err: sqlx::Error,
    events_table: &str,
    constraints: &Constraints,
    autocommit: bool,
    entity_id: &C::EntityId,
) -> UncheckedModifyError<C> {
    let err = match ServerLimitExceeded::from_sqlx(err) {
        Ok(limit) => return UncheckedModifyError::ServerLimitExceeded(limit),
        Err(err) => err,
    };
    if autocommit && is_connection_lost(&err) {
        return UncheckedModifyError::OutcomeUnknown(err);
    }
    match classify::<C>(err, events_table, constraints) {
        WriteFailure::Constraint(v) => UncheckedModifyError::ConstraintViolation(v),
        WriteFailure::SequenceTaken(_) => UncheckedModifyError::LockBypassed {
            entity_id: entity_id.clone(),
        },
        WriteFailure::Other(e) => UncheckedModifyError::Sqlx(e),
    }
}

/// Marker the bulk update statement puts in the error it raises when an
/// entity's index row is missing (see es-entity-macros `sql::update_all`):
/// our own text, quoted inside the (translated) message.
const MISSING_ROW: &str = "es_entity: index row missing for ";

/// Marker the mixed batch statement (`update_all_expecting`,
/// `update_all_unchecked`) raises when an unchecked entity's sequence was
/// taken by a writer that bypassed the row lock.
const SEQUENCE_TAKEN: &str = "es_entity: sequence taken for ";

/// The batch's entity (id and expected version) whose id text passes the
/// given test, if any.
pub type BatchLookup<'a, Id> = &'a dyn Fn(&dyn Fn(&str) -> bool) -> Option<(Id, usize)>;

/// Classifies the error of a bulk write; `entity` finds an entity of the
/// batch by its id's text.
pub fn bulk_modify_error<C: EntityColumn>(
    err: sqlx::Error,
    events_table: &str,
    constraints: &Constraints,
    autocommit: bool,
    entity: BatchLookup<'_, C::EntityId>,
) -> ModifyError<C> {
    if let Some(too_large) = crate::bind_limit::batch_too_large(&err) {
        return ModifyError::BatchTooLarge(too_large);
    }
    let err = match ServerLimitExceeded::from_sqlx(err) {
        Ok(limit) => return ModifyError::ServerLimitExceeded(limit),
        Err(err) => err,
    };
    if autocommit && is_connection_lost(&err) {
        return ModifyError::OutcomeUnknown(err);
    }
    if let Some(db) = err.as_database_error() {
        // 22P02: the marker's cast to INT4 failed; the id follows the marker.
        let message = db.message();
        for marker in [MISSING_ROW, SEQUENCE_TAKEN] {
            if db.code().as_deref() == Some("22P02")
                && let Some(start) = message.find(marker)
            {
                let after = &message[start + marker.len()..];
                let named = |id: &str| {
                    after.strip_prefix(id).is_some_and(|rest| {
                        !rest.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_')
                    })
                };
                if let Some((entity_id, _)) = entity(&named) {
                    return if marker == MISSING_ROW {
                        ModifyError::EntityNotFound { entity_id }
                    } else {
                        ModifyError::LockBypassed { entity_id }
                    };
                }
            }
        }
    }
    // Which entity lost: the one whose id the detail shows as the key's first
    // value, `(<id>, <sequence>)`.
    let detail = err
        .as_database_error()
        .and_then(|db| db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .and_then(|p| p.detail())
        .map(str::to_owned);
    let shown = |id: &str| {
        detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!("({id}, ")))
    };
    match classify::<C>(err, events_table, constraints) {
        WriteFailure::Constraint(v) => ModifyError::ConstraintViolation(v),
        WriteFailure::SequenceTaken(e) => match entity(&shown) {
            Some((entity_id, expected_version)) => {
                ModifyError::conflict(entity_id, expected_version)
            }
            None => ModifyError::Sqlx(e),
        },
        WriteFailure::Other(e) => ModifyError::Sqlx(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_sequence_key, value_in_detail};

    #[test]
    fn values_in_details_of_any_language() {
        assert_eq!(
            value_in_detail("Key (name)=(Alice) already exists.", "name"),
            Some("Alice".into())
        );
        assert_eq!(
            value_in_detail("Schlüssel »(name)=(a) b)« existiert bereits.", "name"),
            Some("a) b".into())
        );
        assert_eq!(
            value_in_detail(
                "Key (org_id)=(7) is not present in table \"orgs\".",
                "org_id"
            ),
            Some("7".into())
        );
        assert_eq!(
            value_in_detail("Key (a, b)=(1, 2) already exists.", "a"),
            None
        );
        assert_eq!(value_in_detail("Failing row contains (x).", "x"), None);
    }

    #[test]
    fn the_sequence_key_by_its_columns_or_default_names() {
        let cols = ["id".to_owned(), "sequence".to_owned()];
        assert!(is_sequence_key(Some(&cols), Some("anything"), "ev"));
        assert!(!is_sequence_key(
            Some(&cols[..1]),
            Some("ev_id_sequence_key"),
            "ev"
        ));
        assert!(is_sequence_key(None, Some("ev_id_sequence_key"), "ev"));
        assert!(is_sequence_key(None, Some("ev_pkey"), "ev"));
        assert!(!is_sequence_key(None, Some("ev_payload_key"), "ev"));
    }
}
