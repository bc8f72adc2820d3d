// `idempotency_guard!` returns `AlreadyApplied`: the function must return
// `Idempotent<T>` or `Result<Idempotent<T>, E>`, not a plain `Result`.
use es_entity::idempotency_guard;

enum Event {
    Closed,
}

fn close(events: &mut Vec<Event>) -> Result<(), u32> {
    idempotency_guard!(events.iter().rev(), already_applied: Event::Closed);
    events.push(Event::Closed);
    Ok(())
}

fn main() {
    let _ = close(&mut Vec::new());
}
