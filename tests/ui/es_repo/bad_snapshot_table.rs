// The snapshot table's name goes into SQL verbatim: it is checked like the
// other table names, and reported with the other errors of the attribute.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", snapshot, snapshot_tbl = "User Snapshots", tbl = "bad name")]
pub struct Users {
    pool: sqlx::PgPool,
}

fn main() {}
