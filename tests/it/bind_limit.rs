//! The size limit of a bulk write's parameters (`es_entity::BatchTooLarge`):
//! the check at its boundary, the typed errors `create_all` and
//! `update_all` report, and what the real server does with a Bind message
//! past the limit (it closes the connection without a word, so a batch
//! past it must never be sent).

use std::time::Duration;

use es_entity::{BatchTooLarge, CreateError, ModifyError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::repo_fixtures::MemberColumn;

#[test]
fn the_check_allows_exactly_the_largest_message_the_server_accepts() {
    // ANCHOR: check
    let limit = BatchTooLarge::MAX_BIND_MESSAGE;
    assert_eq!(limit, 1_073_741_822, "MaxAllocSize - 1");
    let largest = limit - BatchTooLarge::BIND_OVERHEAD;
    assert_eq!(BatchTooLarge::check(largest, 5, 7), Ok(()));
    let err = BatchTooLarge::check(largest + 1, 5, 7).unwrap_err();
    assert_eq!(
        err,
        BatchTooLarge {
            entities: 5,
            events: 7,
            message_bytes: limit + 1,
            limit,
        }
    );
    let text = err.to_string();
    assert!(text.contains("5 entities (7 events)"), "{text}");
    assert!(text.contains("1073741823-byte"), "{text}");
    assert!(text.contains("1073741822 bytes"), "{text}");
    // ANCHOR_END: check
    // Far past the limit (and past what a length word can say) as well.
    assert!(BatchTooLarge::check(usize::MAX, 1, 1).is_err());
}

#[test]
fn a_batch_past_the_limit_is_the_repositorys_typed_error() {
    // What the bulk writes' last parameter returns from its encoding (sqlx
    // hands it back as `Error::Encode` before sending anything), through
    // the classification `create_all` and `update_all` run.
    let too_large = BatchTooLarge::check(BatchTooLarge::MAX_BIND_MESSAGE, 3, 4).unwrap_err();
    let constraints = es_entity::__private::Constraints::new(Vec::new());
    let encode = |e: &BatchTooLarge| sqlx::Error::Encode(Box::new(e.clone()));
    let err = es_entity::__private::create_error::<MemberColumn>(
        encode(&too_large),
        "member_events",
        &constraints,
        true,
    );
    // ANCHOR: variant
    let CreateError::BatchTooLarge(got) = &err else {
        panic!("{err:?}")
    };
    // ANCHOR_END: variant
    assert_eq!(got, &too_large);
    assert!(err.to_string().contains("3 entities (4 events)"), "{err}");
    let err = es_entity::__private::bulk_modify_error::<MemberColumn>(
        encode(&too_large),
        "member_events",
        &constraints,
        true,
        &|_| None,
    );
    assert!(
        matches!(&err, ModifyError::BatchTooLarge(got) if got == &too_large),
        "{err:?}"
    );
    // Any other encoding failure stays sqlx's.
    let other = sqlx::Error::Encode("something else".into());
    let err = es_entity::__private::create_error::<MemberColumn>(
        other,
        "member_events",
        &constraints,
        true,
    );
    assert!(matches!(err, CreateError::Sqlx(_)), "{err:?}");
}

/// A connection that has logged in with the protocol's startup message
/// (the suite's server trusts its local connections).
async fn logged_in() -> TcpStream {
    // PostgreSQL itself, also when the suite runs through a pooler.
    let options: sqlx::postgres::PgConnectOptions = es_entity_tests::database_url()
        .parse()
        .expect("DATABASE_URL");
    let mut stream = TcpStream::connect((options.get_host(), options.get_port()))
        .await
        .expect("connect to the test server");
    let mut body = Vec::new();
    body.extend_from_slice(&196_608_i32.to_be_bytes()); // protocol 3.0
    for (key, value) in [
        ("user", options.get_username()),
        ("database", options.get_database().unwrap_or("postgres")),
    ] {
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let len = i32::try_from(body.len() + 4).unwrap();
    stream.write_all(&len.to_be_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    // Read messages up to ReadyForQuery ('Z'); the first must be
    // AuthenticationOk ('R' with code 0).
    let mut first = true;
    loop {
        let kind = stream.read_u8().await.expect("a message from the server");
        let len = stream.read_i32().await.unwrap();
        let mut payload = vec![0; usize::try_from(len - 4).unwrap()];
        stream.read_exact(&mut payload).await.unwrap();
        if first {
            assert_eq!(
                (kind, payload.get(..4)),
                (b'R', Some(&[0, 0, 0, 0][..])),
                "the test server must let the suite's user in without a password"
            );
            first = false;
        }
        if kind == b'Z' {
            return stream;
        }
    }
}

/// Sends the start of a Bind message whose length word is `length` (the
/// body never follows) and reports whether the server closed the
/// connection within `wait`.
async fn closes_after_bind_of(length: u32, wait: Duration) -> bool {
    let mut stream = logged_in().await;
    stream.write_all(b"B").await.unwrap();
    stream.write_all(&length.to_be_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let mut byte = [0u8; 1];
    match tokio::time::timeout(wait, stream.read(&mut byte)).await {
        // Still waiting for the message's body.
        Err(_) => false,
        // Closed: end of stream or reset; nothing was sent back before it.
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => panic!(
            "the server answered a partial Bind message (0x{:02x})",
            byte[0]
        ),
    }
}

#[tokio::test]
async fn the_server_closes_the_connection_on_a_bind_message_past_the_limit() {
    let limit = u32::try_from(BatchTooLarge::MAX_BIND_MESSAGE).unwrap();
    // One byte past the limit: PostgreSQL refuses the length word itself
    // ("invalid message length", logged on the server only) and closes the
    // connection: sqlx would see its write fail, a protocol failure.
    assert!(
        closes_after_bind_of(limit + 1, Duration::from_secs(30)).await,
        "a Bind message of {} bytes must be refused",
        limit + 1
    );
    // At the limit it accepts the length and waits for the body.
    assert!(
        !closes_after_bind_of(limit, Duration::from_secs(2)).await,
        "a Bind message of {limit} bytes must be accepted"
    );
}
