// An unknown option and a method the attribute cannot retry are reported
// in one compile.
use es_entity::retry_on_concurrent_modification;

struct Repo;

impl Repo {
    #[retry_on_concurrent_modification(max_retrys = 2)]
    fn save(&self) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

fn main() {}
