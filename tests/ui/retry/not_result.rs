// A retried method returns `Result<T, E>`: the error says it lost a race.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification]
    async fn save(&self) {}
}

fn main() {}
