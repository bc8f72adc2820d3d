//! The failure messages of [`super`]: events shown as the JSON a repository
//! would store, and where two lists of events first differ.

use std::fmt::Write as _;

use serde_json::Value;

use crate::events::EsEvent;

/// At most this many differing fields are named for one event.
const MAX_FIELD_DIFFERENCES: usize = 8;

/// One event as a repository would store it: its `event_type` and JSON.
pub(super) struct Recorded {
    pub(super) event_type: &'static str,
    /// For comparing.
    json: Value,
    /// For showing and storing: serde's own field order, one line.
    pub(super) text: String,
}

impl Recorded {
    /// `event` serialized.
    ///
    /// # Panics
    /// When it does not serialize to JSON; no repository could store it.
    #[track_caller]
    pub(super) fn of<E: EsEvent>(event: &E) -> Self {
        let text = match serde_json::to_string(event) {
            Ok(text) => text,
            Err(err) => fail(format!(
                "a `{}` event does not serialize to JSON, so no repository \
                 could store it: {err}",
                event.event_type()
            )),
        };
        let json = serde_json::from_str(&text).expect("serde_json reads back what it wrote");
        Self {
            event_type: event.event_type(),
            json,
            text,
        }
    }

    fn same_as(&self, other: &Self) -> bool {
        self.event_type == other.event_type && self.json == other.json
    }
}

/// Fails the test at the caller's line (every caller up to the test
/// function carries `#[track_caller]`).
#[track_caller]
pub(super) fn fail(message: String) -> ! {
    panic!("{message}")
}

/// "1 new event", "3 new events".
pub(super) fn count(n: usize) -> String {
    match n {
        1 => "1 new event".to_owned(),
        n => format!("{n} new events"),
    }
}

/// "no new events" or "N new events:" and their list, ending a sentence
/// such as "it succeeded and recorded ...".
pub(super) fn recorded_tail(events: &[Recorded], first_sequence: usize) -> String {
    if events.is_empty() {
        "no new events".to_owned()
    } else {
        format!(
            "{}:\n{}",
            count(events.len()),
            list_items(events, first_sequence)
        )
    }
}

/// A titled list of events, numbered from `first_sequence`.
pub(super) fn list(title: &str, events: &[Recorded], first_sequence: usize) -> String {
    if events.is_empty() {
        format!("{title}: none")
    } else {
        format!("{title}:\n{}", list_items(events, first_sequence))
    }
}

/// One line per event: `  [index] (sequence n) json`.
pub(super) fn list_items(events: &[Recorded], first_sequence: usize) -> String {
    let mut out = String::new();
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            "  [{i}] (sequence {}) {}",
            first_sequence + i,
            event.text
        );
    }
    out
}

/// The message for new events that are not the expected ones, or `None`
/// when they are. Names the first differing index, shows both events and
/// the fields that differ, then both lists.
pub(super) fn events_differ(
    expected: &[Recorded],
    actual: &[Recorded],
    first_sequence: usize,
) -> Option<String> {
    let index = (0..expected.len().max(actual.len())).find(|&i| {
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) => !e.same_as(a),
            _ => true,
        }
    })?;
    let show = |event: Option<&Recorded>| match event {
        Some(event) => event.text.clone(),
        None => "(no event)".to_owned(),
    };
    let mut out = format!(
        "new events differ from the expected ones at index {index} (sequence {}):\n  \
         expected: {}\n  actual:   {}",
        first_sequence + index,
        show(expected.get(index)),
        show(actual.get(index)),
    );
    if let (Some(e), Some(a)) = (expected.get(index), actual.get(index)) {
        for line in field_differences(e, a) {
            let _ = write!(out, "\n  {line}");
        }
    }
    let _ = write!(
        out,
        "\nexpected {}\nrecorded {}",
        recorded_tail(expected, first_sequence),
        recorded_tail(actual, first_sequence),
    );
    Some(out)
}

/// Where two events differ, one line per place: `event_type`, then
/// JSON paths such as `.items[2].amount`.
fn field_differences(expected: &Recorded, actual: &Recorded) -> Vec<String> {
    let mut out = Vec::new();
    if expected.event_type != actual.event_type {
        out.push(format!(
            "event_type: expected `{}`, actual `{}`",
            expected.event_type, actual.event_type
        ));
    }
    json_differences("", &expected.json, &actual.json, &mut out);
    if out.len() > MAX_FIELD_DIFFERENCES {
        let more = out.len() - MAX_FIELD_DIFFERENCES;
        out.truncate(MAX_FIELD_DIFFERENCES);
        out.push(format!("... and {more} more differences"));
    }
    out
}

fn json_differences(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            // Sorted, whatever order serde_json's maps keep.
            let mut keys: Vec<&String> = e.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let at = format!("{path}.{key}");
                match (e.get(key), a.get(key)) {
                    (Some(e_value), Some(a_value)) => json_differences(&at, e_value, a_value, out),
                    (Some(e_value), None) => {
                        out.push(format!("{at}: expected {e_value}, actual (missing)"))
                    }
                    (None, Some(a_value)) => {
                        out.push(format!("{at}: expected (missing), actual {a_value}"))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for i in 0..e.len().max(a.len()) {
                let at = format!("{path}[{i}]");
                match (e.get(i), a.get(i)) {
                    (Some(e_item), Some(a_item)) => json_differences(&at, e_item, a_item, out),
                    (Some(e_item), None) => {
                        out.push(format!("{at}: expected {e_item}, actual (missing)"))
                    }
                    (None, Some(a_item)) => {
                        out.push(format!("{at}: expected (missing), actual {a_item}"))
                    }
                    (None, None) => {}
                }
            }
        }
        (e, a) if e != a => {
            let at = if path.is_empty() { "the event" } else { path };
            out.push(format!("{at}: expected {e}, actual {a}"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn differences(expected: Value, actual: Value) -> Vec<String> {
        let mut out = Vec::new();
        json_differences("", &expected, &actual, &mut out);
        out
    }

    #[test]
    fn names_each_differing_path() {
        assert_eq!(
            differences(
                json!({ "type": "moved", "to": { "x": 1, "y": 2 }, "tags": ["a", "b"], "gone": 1 }),
                json!({ "type": "moved", "to": { "x": 1, "y": 3 }, "tags": ["a"], "new": true }),
            ),
            [
                ".gone: expected 1, actual (missing)",
                ".new: expected (missing), actual true",
                ".tags[1]: expected \"b\", actual (missing)",
                ".to.y: expected 2, actual 3",
            ]
        );
        assert_eq!(
            differences(json!("a"), json!(1)),
            ["the event: expected \"a\", actual 1"]
        );
        assert!(
            differences(
                json!({ "a": [1, { "b": null }] }),
                json!({ "a": [1, { "b": null }] })
            )
            .is_empty()
        );
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(count(1), "1 new event");
        assert_eq!(count(0), "0 new events");
        assert_eq!(count(2), "2 new events");
    }
}
