//! Integration tests, linked into one binary (`--test it`) to keep link time
//! down. Each module is one area; tests needing PostgreSQL get a pool from
//! `es_entity_tests::pool()`.

mod book;
mod book_bulk;
mod book_entity;
mod book_es_query;
mod book_idempotency;
mod book_list;
mod book_repo;
mod book_retry;
mod book_transactions;
mod book_update_with_retry;
mod book_versions;
mod column_types;
mod conflicts_any_language;
mod db_op;
mod es_query_tables;
mod executors;
mod feed;
mod harness_proxy;
mod hygiene;
mod list_explain;
mod outcome_unknown;
mod own_crate;
#[path = "../../examples/quickstart.rs"]
mod quickstart;
mod reliability_bad_data;
mod reliability_create_races;
mod reliability_faults;
mod reliability_lock_order;
mod reliability_props;
mod reliability_support;
mod reliability_text;
mod reliability_torture;
mod reliability_tracing;
mod repo_bulk;
mod repo_composition;
mod repo_concurrency;
mod repo_crud;
mod repo_error_helpers;
mod repo_errors;
mod repo_fixtures;
mod repo_options;
mod repo_round_trips;
mod repo_versions;
mod sql_names;
