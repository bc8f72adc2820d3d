// A misspelt option is named.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification(max_retry = 2)]
    async fn save(&self) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

fn main() {}
