//! The concurrency chapter's examples of expected versions and unchecked
//! (last-writer-wins) writes, on the chapter's `Account`.

use es_entity::*;
use uuid::Uuid;

use crate::book_retry::{
    Account, AccountEvent, AccountId, AccountModifyError, AccountUncheckedModifyError, Accounts,
    NewAccount,
};

/// What a read model recorded about an account: its balance and the version
/// (number of events) it had applied.
struct BalanceView {
    balance: i64,
    version: usize,
}

/// The read model, here computed on the spot from the stored events.
async fn balance_view(accounts: &Accounts, id: AccountId) -> BalanceView {
    let account = accounts.find_by_id(id).await.expect("loads");
    BalanceView {
        balance: account.balance,
        version: account.events().len_persisted(),
    }
}

// ANCHOR: exact
/// Withdraws `amount` if the read model says the balance covers it, and only
/// if the account is still at the version the read model saw: the decision
/// was taken from that version, not from whatever the account holds now.
async fn withdraw_as_seen(
    accounts: &Accounts,
    id: AccountId,
    seen: &BalanceView,
    amount: i64,
) -> Result<bool, AccountModifyError> {
    if seen.balance < amount {
        return Ok(false);
    }
    let mut account = accounts.find_by_id(id).await.expect("loads");
    account.withdraw(amount);
    accounts
        .update_expecting(&mut account, ExpectedVersion::Exact(seen.version))
        .await?;
    Ok(true)
}
// ANCHOR_END: exact

#[tokio::test]
async fn a_decision_from_a_read_model_holds_only_at_its_version()
-> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = accounts.create(NewAccount::named("exact")).await?.id;
    let mut account = accounts.find_by_id(id).await?;
    account.deposit(100);
    accounts.update(&mut account).await?;

    let seen = balance_view(&accounts, id).await;
    assert_eq!((seen.balance, seen.version), (100, 2));
    assert!(withdraw_as_seen(&accounts, id, &seen, 60).await?);

    // The same view again: the account has moved on to version 3.
    // ANCHOR: exact_conflict
    let err = withdraw_as_seen(&accounts, id, &seen, 60)
        .await
        .expect_err("the account moved past the version the view saw");
    match err {
        ModifyError::ConcurrentModification {
            entity_id,
            expected_version,
            actual_version,
            ..
        } => {
            assert_eq!(entity_id, id);
            assert_eq!(expected_version, 2); // what the view saw
            assert_eq!(actual_version, Some(3)); // read after the failure
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // ANCHOR_END: exact_conflict
    let account = accounts.find_by_id(id).await?;
    assert_eq!(account.balance, 40, "only the first withdrawal was stored");
    assert_eq!(account.events().len_persisted(), 3);
    Ok(())
}

// ANCHOR: unchecked
/// One actor owns each account's deposits, so its writes need no version
/// check: they go after whatever the stream holds.
async fn record_deposit(
    accounts: &Accounts,
    account: &mut Account,
    amount: i64,
) -> Result<UncheckedWrite, AccountUncheckedModifyError> {
    account.deposit(amount);
    accounts.update_unchecked(account).await
}
// ANCHOR_END: unchecked

#[tokio::test]
async fn an_unchecked_write_lands_after_what_it_missed_and_refreshes_the_entity()
-> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = accounts.create(NewAccount::named("lww")).await?.id;
    // ANCHOR: unchecked_use
    let mut mine = accounts.find_by_id(id).await?; // version 1, balance 0
    let mut theirs = accounts.find_by_id(id).await?;
    theirs.deposit(5);
    accounts.update(&mut theirs).await?; // the stream is at 2 now

    let done = record_deposit(&accounts, &mut mine, 10).await?;
    assert_eq!((done.written, done.missed), (1, 1));
    // `mine` was rebuilt from the whole history: it saw their deposit.
    assert_eq!(mine.balance, 15);
    assert_eq!(mine.events().len_persisted(), 3);
    // ANCHOR_END: unchecked_use

    // The entity agrees with the database, so a checked update works next.
    mine.deposit(1);
    assert_eq!(accounts.update(&mut mine).await?, 1);
    let stored = accounts.find_by_id(id).await?;
    assert_eq!(stored.balance, 16);
    let kinds: Vec<_> = stored
        .events()
        .iter_persisted()
        .map(|e| (e.sequence, e.event.clone()))
        .collect();
    assert!(matches!(
        kinds.as_slice(),
        [
            (1, AccountEvent::Opened { .. }),
            (2, AccountEvent::Deposited { amount: 5 }),
            (3, AccountEvent::Deposited { amount: 10 }),
            (4, AccountEvent::Deposited { amount: 1 }),
        ]
    ));
    let index_balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(Uuid::from(id))
        .fetch_one(accounts.pool())
        .await?;
    assert_eq!(index_balance, 16);
    Ok(())
}

#[tokio::test]
async fn stream_exists_and_any_append_unchecked_and_no_stream_never_updates()
-> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let id = accounts.create(NewAccount::named("states")).await?.id;
    let mut stale = accounts.find_by_id(id).await?;
    let mut other = accounts.find_by_id(id).await?;
    other.deposit(1);
    accounts.update(&mut other).await?;

    // ANCHOR: states
    stale.deposit(2);
    let written = accounts
        .update_expecting(&mut stale, ExpectedVersion::StreamExists)
        .await?;
    assert_eq!(written, 1); // appended after the other writer's deposit
    assert_eq!(stale.balance, 3);

    stale.deposit(4);
    let err = accounts
        .update_expecting(&mut stale, ExpectedVersion::NoStream)
        .await
        .expect_err("an update never creates");
    assert_eq!(err.conflict_versions(), Some((0, Some(3))));
    // ANCHOR_END: states
    assert_eq!(accounts.find_by_id(id).await?.balance, 3);

    assert_eq!(
        accounts
            .update_expecting(&mut stale, ExpectedVersion::Any)
            .await?,
        1
    );
    assert_eq!(accounts.find_by_id(id).await?.balance, 7);
    Ok(())
}

// ANCHOR: batch
/// Moves `amount` from one account to another in one statement: the
/// withdrawal only if `from` is still at the version the read model saw,
/// the deposit wherever `to` is (its owner appends without a check).
async fn transfer_as_seen(
    accounts: &Accounts,
    from: AccountId,
    seen: &BalanceView,
    to: AccountId,
    amount: i64,
) -> Result<usize, AccountModifyError> {
    let mut batch = vec![
        accounts.find_by_id(from).await.expect("loads"),
        accounts.find_by_id(to).await.expect("loads"),
    ];
    batch[0].withdraw(amount);
    batch[1].deposit(amount);
    accounts
        .update_all_expecting(&mut batch, |account| {
            if account.id == from {
                ExpectedVersion::Exact(seen.version)
            } else {
                ExpectedVersion::Any
            }
        })
        .await
}
// ANCHOR_END: batch

#[tokio::test]
async fn a_batch_mixes_an_exact_member_with_an_unchecked_one()
-> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::new(es_entity_tests::pool().await);
    let from = accounts.create(NewAccount::named("from")).await?.id;
    let to = accounts.create(NewAccount::named("to")).await?.id;
    let mut account = accounts.find_by_id(from).await?;
    account.deposit(100);
    accounts.update(&mut account).await?;

    // ANCHOR: batch_use
    let seen = balance_view(&accounts, from).await; // version 2, balance 100
    assert_eq!(transfer_as_seen(&accounts, from, &seen, to, 30).await?, 2);

    // The same view again: `from` moved on, so nothing of the batch is
    // written, and the conflict names `from`.
    let err = transfer_as_seen(&accounts, from, &seen, to, 30)
        .await
        .expect_err("from moved past the version the view saw");
    assert!(matches!(
        &err,
        ModifyError::ConcurrentModification { entity_id, .. } if *entity_id == from
    ));
    // ANCHOR_END: batch_use
    assert_eq!(accounts.find_by_id(from).await?.balance, 70);
    assert_eq!(accounts.find_by_id(to).await?.balance, 30);
    Ok(())
}
