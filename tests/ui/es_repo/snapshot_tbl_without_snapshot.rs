// `snapshot_tbl` names a table only snapshots use: without `snapshot` (or
// with `snapshot = false`) it is an error pointing at the name.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", snapshot_tbl = "user_snaps")]
pub struct Users {
    pool: sqlx::PgPool,
}

#[derive(EsRepo)]
#[es_repo(entity = "User", snapshot = false, snapshot_tbl = "user_snaps")]
pub struct MoreUsers {
    pool: sqlx::PgPool,
}

fn main() {}
