// Each attempt borrows the receiver again, so it must be `&self`.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification]
    async fn save(&mut self) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

fn main() {}
