//! What an `EventContext` costs a write (`--only context`): ours alone,
//! the same `create` and `update` with and without a context in scope.
//!
//! Each call of the "context" lane runs in its own scope holding a
//! correlation id, a causation id and one field of its own (about 90
//! bytes of JSON per event), as a request handler would set them. The
//! write is the same one statement either way: the context rides in the
//! `context` column the statement already binds (NULL without a scope).

use std::time::Instant;

use es_entity::EventContext;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use crate::ours::Accounts;
use crate::subject::{Res, Subject};
use crate::{median, min_max, new_accounts};

/// The label `--only` matches.
pub const LABEL: &str = "event context cost";

/// Per round: µs per call of [no context, context].
pub struct Cost {
    pub ops: usize,
    pub create: Vec<[f64; 2]>,
    pub update: Vec<[f64; 2]>,
}

fn context(i: usize) -> EventContext {
    EventContext::new()
        .correlation_id(format!("req-{i:08}"))
        .causation_id(format!("cmd-{i:08}"))
        .field("user", "bench-user")
}

/// Runs `rounds` interleaved rounds of `ops` creates and `ops` updates per
/// lane on one connection; the lane that goes first alternates by round.
pub async fn cost(url: &str, rounds: usize, ops: usize) -> Res<Cost> {
    let options: PgConnectOptions = url.parse()?;
    let options = options
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options)
        .await?;
    let accounts = Accounts::new(pool.clone());
    eprintln!("  {LABEL}: {rounds} rounds x 2 lanes x {ops} creates and {ops} updates");
    let mut sets = [
        Subject::create_all(&accounts, new_accounts("ctx-u0", ops)).await?,
        Subject::create_all(&accounts, new_accounts("ctx-u1", ops)).await?,
    ];
    // Warm-up, not recorded.
    for lane in 0..2 {
        creates(&accounts, lane, &format!("w{lane}"), ops.div_ceil(5)).await?;
    }
    let mut create = Vec::with_capacity(rounds);
    let mut update = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut c = [0.0; 2];
        let mut u = [0.0; 2];
        for k in 0..2 {
            let lane = (round + k) % 2;
            c[lane] = creates(&accounts, lane, &format!("r{round}-{lane}"), ops).await?;
            u[lane] = updates(&accounts, lane, &mut sets[lane]).await?;
        }
        create.push(c);
        update.push(u);
    }
    // The context lane's last events really carry the context.
    let stored: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT context FROM bench_ours_account_events WHERE id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(<Accounts as Subject>::id(&sets[1][0]))
    .fetch_one(&pool)
    .await?;
    if stored.as_ref().and_then(|c| c.get("user")) != Some(&serde_json::json!("bench-user")) {
        return Err(format!("context lane stored {stored:?}, not its context").into());
    }
    Ok(Cost {
        ops,
        create,
        update,
    })
}

/// µs per `create` of `ops` new accounts, each in a scope of its own on
/// lane 1.
async fn creates(accounts: &Accounts, lane: usize, tag: &str, ops: usize) -> Res<f64> {
    let new = new_accounts(&format!("ctx-{tag}"), ops);
    let start = Instant::now();
    if lane == 0 {
        creates_plain(accounts, new).await?;
    } else {
        creates_in_context(accounts, new).await?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / ops as f64)
}

// The two lanes are functions of their own so that a profile can tell them
// apart: `valgrind --tool=callgrind` of `--only context`, then
// `callgrind_annotate --inclusive=yes` shows the client instructions of
// each (their `{{closure}}` entries).
#[inline(never)]
async fn creates_plain(accounts: &Accounts, new: Vec<(uuid::Uuid, String)>) -> Res<()> {
    for (id, name) in new {
        Subject::create(accounts, id, name).await?;
    }
    Ok(())
}

#[inline(never)]
async fn creates_in_context(accounts: &Accounts, new: Vec<(uuid::Uuid, String)>) -> Res<()> {
    for (i, (id, name)) in new.into_iter().enumerate() {
        context(i)
            .scope(Subject::create(accounts, id, name))
            .await?;
    }
    Ok(())
}

/// µs per one-event `update` of each account of `set`.
async fn updates(accounts: &Accounts, lane: usize, set: &mut [crate::ours::Account]) -> Res<f64> {
    let ops = set.len();
    let start = Instant::now();
    if lane == 0 {
        updates_plain(accounts, set).await?;
    } else {
        updates_in_context(accounts, set).await?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / ops as f64)
}

#[inline(never)]
async fn updates_plain(accounts: &Accounts, set: &mut [crate::ours::Account]) -> Res<()> {
    for account in set.iter_mut() {
        account.deposit(1);
        accounts.update(account).await?;
    }
    Ok(())
}

#[inline(never)]
async fn updates_in_context(accounts: &Accounts, set: &mut [crate::ours::Account]) -> Res<()> {
    for (i, account) in set.iter_mut().enumerate() {
        context(i)
            .scope(async {
                account.deposit(1);
                accounts.update(account).await
            })
            .await?;
    }
    Ok(())
}

pub fn print(c: &Cost) {
    println!();
    println!(
        "EventContext on single-entity writes (ours): the same call without a context and inside \
         a scope of its own (correlation id, causation id, one field); one connection; {} \
         interleaved rounds of {} calls per lane; median over rounds, range = min..max of the \
         per-round ratio. Both lanes send one statement per call.",
        c.create.len(),
        c.ops
    );
    let header = format!(
        "{:<8} {:>16} {:>14} {:>22}",
        "workload", "no context µs", "context µs", "context / none"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for (label, rows) in [("create", &c.create), ("update", &c.update)] {
        let none = median(rows.iter().map(|r| r[0]).collect());
        let with = median(rows.iter().map(|r| r[1]).collect());
        let per_round: Vec<f64> = rows.iter().map(|r| r[1] / r[0]).collect();
        let (lo, hi) = min_max(&per_round);
        println!(
            "{label:<8} {none:>16.1} {with:>14.1} {:>22}",
            format!("{:.3} ({lo:.2}..{hi:.2})", with / none)
        );
    }
}
