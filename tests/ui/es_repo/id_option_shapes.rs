// The shapes `id` does not take: a bare word, a `source` that is not a word
// or a string, a bare `source`, an unknown key in the list, a type written
// without quotes, and a bad type next to a bad source (both reported).
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "User", id)]
pub struct A {
    pool: sqlx::PgPool,
}

#[derive(EsRepo)]
#[es_repo(entity = "User", id(source = 1))]
pub struct B {
    pool: sqlx::PgPool,
}

#[derive(EsRepo)]
#[es_repo(entity = "User", id(source))]
pub struct C {
    pool: sqlx::PgPool,
}

#[derive(EsRepo)]
#[es_repo(entity = "User", id(sorce = "repo"))]
pub struct D {
    pool: sqlx::PgPool,
}

#[derive(EsRepo)]
#[es_repo(entity = "User", id(ty = UserId, source = "repo"))]
pub struct E {
    pool: sqlx::PgPool,
}

#[derive(EsRepo)]
#[es_repo(entity = "User", id(ty = "User Id", source = "db"))]
pub struct F {
    pool: sqlx::PgPool,
}

fn main() {}
