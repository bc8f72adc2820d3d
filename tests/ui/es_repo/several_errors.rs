// Every model error of one derive is reported at once.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(
    columns(
        id = "UserId",
        name = "String",
        name = "String",
        email(find_by = false),
        nick(ty = "Option<String>", create(accessor = "nick()", persist = false)),
        age = "[u8",
    )
)]
pub struct Users {
    db: sqlx::PgPool,
}

fn main() {}
