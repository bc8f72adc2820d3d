//! Column values with quotes, backslashes, unicode, SQL look-alikes and
//! 1 MiB of text are stored and found exactly; a NUL character, which
//! PostgreSQL refuses in text and JSONB, is a typed error that stores
//! nothing. Values only ever travel as bind parameters, so nothing here can
//! change a statement.

use es_entity::*;
use uuid::Uuid;

use crate::book_retry::{AccountColumn, AccountId, AccountQueryError, Accounts, NewAccount};
use crate::reliability_bad_data::{NewSpecimen, Specimen, SpecimenId, Specimens};
use crate::reliability_support::{Rng, sqlstate, unique};

impl Accounts {
    /// Accounts with exactly this name, through `es_query!`.
    async fn with_exact_name(
        &self,
        name: &str,
    ) -> Result<Option<crate::book_retry::Account>, AccountQueryError> {
        es_query!("SELECT id FROM accounts WHERE name = $1", name)
            .fetch_optional(self.pool())
            .await
    }
}

/// Values that break naive quoting, escaping, LIKE patterns, normalization
/// or display. A unique suffix keeps runs apart (names are unique).
fn tricky() -> Vec<String> {
    [
        "O'Brien",
        "''",
        "\"double\" and 'single'",
        r"back\slash \\ \n \x00 \'",
        "'); DROP TABLE accounts; --",
        "Robert'); DROP TABLE account_events;--",
        "1 OR 1=1",
        "$1 $2 ? :name @p1",
        "100% _under_ %",
        "(a) b) ) already exists.",
        "Key (name)=(x) already exists.",
        "🦀 crab 👩‍👩‍👧‍👦 family",
        "مرحبا بالعالم",
        "\u{202E}override\u{202C} RTL",
        "e\u{0301}", // e + combining acute
        "\u{00E9}",  // precomposed é: another name, PostgreSQL does not normalize
        "Z\u{0351}\u{036B}\u{0343}\u{036A}a\u{0352}l\u{0334}g\u{0322}o",
        "\u{FEFF}bom \u{200B}zero width\u{200D}",
        "tab\there\nnewline\r\n",
        "   leading and trailing   ",
        "{\"json\": [1, 2]}",
        "\u{10FFFF} last code point",
    ]
    .iter()
    .map(|s| format!("{s}#{}", Uuid::now_v7().simple()))
    .collect()
}

#[tokio::test]
async fn tricky_names_are_stored_and_found_exactly() {
    let pool = es_entity_tests::pool().await;
    let accounts = Accounts::new(pool.clone());
    let names = tricky();
    for name in &names {
        let id = AccountId::new();
        accounts
            .create(NewAccount {
                id,
                name: name.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        let found = accounts.find_by_name(name.clone()).await.unwrap();
        assert_eq!((found.id, &found.name), (id, name), "find_by_name {name:?}");
        let queried = accounts.with_exact_name(name).await.unwrap().unwrap();
        assert_eq!(queried.id, id, "es_query {name:?}");

        // Byte for byte, in the column and in the event JSON.
        let (column, in_event): (String, String) = sqlx::query_as(
            "SELECT a.name, e.event->>'name' FROM accounts a \
             JOIN account_events e ON e.id = a.id AND e.sequence = 1 WHERE a.id = $1",
        )
        .bind(Uuid::from(id))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(column.as_bytes(), name.as_bytes());
        assert_eq!(in_event.as_bytes(), name.as_bytes());

        // A second account with the name is a duplicate naming the value.
        let err = accounts
            .create(NewAccount {
                id: AccountId::new(),
                name: name.clone(),
            })
            .await
            .unwrap_err();
        assert!(
            err.was_duplicate_by(AccountColumn::Name),
            "{name:?}: {err:?}"
        );
        assert_eq!(err.duplicate_value(), Some(name.as_str()), "{name:?}");
    }
    // The two spellings of é are two names.
    let composed: Vec<_> = names.iter().filter(|n| n.contains('\u{00E9}')).collect();
    let decomposed: Vec<_> = names.iter().filter(|n| n.contains("e\u{0301}")).collect();
    assert_eq!((composed.len(), decomposed.len()), (1, 1));
    // The tables are still there (the look-alikes were only ever values).
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_tables WHERE tablename IN ('accounts', 'account_events') \
         AND schemaname = current_schema()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 2);
    println!(
        "text: {} tricky names stored and found exactly",
        names.len()
    );
}

/// 1 MiB of mixed text: ASCII, two-, three- and four-byte characters.
fn mebibyte(seed: u64) -> String {
    let alphabet: Vec<char> = "aZ09 '\"\\%_\n\té߷中🦀\u{0301}\u{202E}".chars().collect();
    let mut rng = Rng::new(seed);
    let mut s = String::with_capacity(1 << 20);
    while s.len() < (1 << 20) - 4 {
        s.push(alphabet[rng.below(alphabet.len())]);
    }
    while s.len() < 1 << 20 {
        s.push('x');
    }
    s
}

#[tokio::test]
async fn a_mebibyte_name_is_stored_and_found_exactly() {
    let pool = es_entity_tests::pool().await;
    let specimens = Specimens::new(pool.clone());
    let name = mebibyte(Uuid::now_v7().as_u64_pair().1);
    assert_eq!(name.len(), 1 << 20);
    let mut created = specimens
        .create(NewSpecimen::named(name.clone()))
        .await
        .unwrap();
    let found = specimens.find_by_name(name.clone()).await.unwrap();
    assert_eq!(found.id, created.id);
    assert!(found.name == name, "the name round-trips byte for byte");
    let (listed, more) = specimens.named_exactly(&name).await.unwrap();
    assert_eq!((listed.len(), more), (1, false));
    assert_eq!(listed[0].id, created.id);

    // One character less is another value.
    let mut shorter = name.clone();
    shorter.pop();
    assert!(
        specimens
            .find_by_name(shorter)
            .await
            .unwrap_err()
            .was_not_found()
    );

    // And through update: a 1 MiB rename and a 1 MiB note.
    let renamed = mebibyte(Uuid::now_v7().as_u64_pair().1);
    created.rename(renamed.clone());
    created.note(renamed.clone());
    assert_eq!(specimens.update(&mut created).await.unwrap(), 2);
    let reloaded = specimens.find_by_name(renamed.clone()).await.unwrap();
    assert!(reloaded.name == renamed && reloaded.notes == [renamed]);
}

/// PostgreSQL refuses NUL in text (22021) and `\u0000` in JSONB (22P05);
/// which comes first depends on how the value travels.
#[tokio::test]
async fn nul_bytes_are_typed_errors_and_store_nothing() {
    let pool = es_entity_tests::pool().await;
    let (accounts, specimens) = (Accounts::new(pool.clone()), Specimens::new(pool.clone()));

    // In a column (and in the event): create fails, nothing is stored.
    let id = AccountId::new();
    let err = accounts
        .create(NewAccount {
            id,
            name: unique("nul\0byte"),
        })
        .await
        .unwrap_err();
    match &err {
        CreateError::Sqlx(e) => assert_eq!(sqlstate(e).as_deref(), Some("22021"), "{e}"),
        other => panic!("expected CreateError::Sqlx, got {other:?}"),
    }
    assert!(accounts.maybe_find_by_id(id).await.unwrap().is_none());
    let stored: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM accounts WHERE id = $1) + \
         (SELECT COUNT(*) FROM account_events WHERE id = $1)",
    )
    .bind(Uuid::from(id))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);

    // Through update: the rename fails, the entity keeps its events unsaved.
    // `update` binds the column as TEXT, like `create` (22021).
    let mut specimen = specimens
        .create(NewSpecimen::named(unique("clean")))
        .await
        .unwrap();
    let clean = specimen.name.clone();
    specimen.rename("nul\0rename");
    match specimens.update(&mut specimen).await {
        Err(ModifyError::Sqlx(e)) => assert_eq!(sqlstate(&e).as_deref(), Some("22021"), "{e}"),
        other => panic!("expected ModifyError::Sqlx, got {other:?}"),
    }
    assert_eq!(specimen.events().len_new(), 1);

    // Only in an event's JSON (no column carries it): JSONB refuses \u0000.
    let mut noted = specimens.find_by_id(specimen.id).await.unwrap();
    noted.note("nul\0note");
    match specimens.update(&mut noted).await {
        Err(ModifyError::Sqlx(e)) => assert_eq!(sqlstate(&e).as_deref(), Some("22P05"), "{e}"),
        other => panic!("expected ModifyError::Sqlx, got {other:?}"),
    }
    let reloaded: Specimen = specimens.find_by_id(specimen.id).await.unwrap();
    assert_eq!(reloaded.name, clean);
    assert_eq!(
        reloaded.events().len_persisted(),
        1,
        "nothing of either write"
    );
    let _: SpecimenId = reloaded.id;
}
