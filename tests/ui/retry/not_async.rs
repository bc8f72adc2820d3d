// Only an async method can be retried.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification(max_retries = 2)]
    fn save(&self) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

fn main() {}
