// A retried fn is a method: it needs `&self`.
use es_entity::retry_on_concurrent_modification;

#[retry_on_concurrent_modification]
async fn save(name: String) -> Result<(), std::fmt::Error> {
    let _ = name;
    Ok(())
}

fn main() {}
