// Arguments are cloned for each attempt, so they must be plain names.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification]
    async fn save(&self, (a, b): (u32, u32)) -> Result<u32, std::fmt::Error> {
        Ok(a + b)
    }
}

fn main() {}
