// `children(..)` names the child repository's own nested fields (the
// grandchildren a tree read loads): each entry is a field name, bare or
// with table options. Every bad entry is reported, all in one compile.
use es_entity::EsRepo;

#[derive(EsRepo)]
#[es_repo(entity = "Board")]
pub struct Boards {
    pool: sqlx::PgPool,
    #[es_repo(nested(children("cards", notes = "note_tbl", tags(table = "t"), a::b)))]
    lanes: Lanes,
    #[es_repo(nested(children(cards, cards)))]
    shelves: Shelves,
    #[es_repo(nested(children(cards(tbl = "Bad Name"))))]
    racks: Racks,
}

fn main() {}
