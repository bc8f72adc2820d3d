// The error type must say what a conflict is: `RetryableError`.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification]
    async fn save(&self) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

fn main() {}
