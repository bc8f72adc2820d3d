//! Helpers shared by the reliability tests (`tests/it/reliability_*.rs`).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Connection options of the test database (through the pooler when the
/// harness is told to use one).
pub(crate) fn options() -> PgConnectOptions {
    es_entity_tests::connect_options()
}

/// A pool of up to `max` connections (the harness pool holds 5), on the
/// database the harness has created and migrated.
pub(crate) async fn wide_pool(max: u32) -> PgPool {
    es_entity_tests::pool().await; // the database exists and is migrated
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options())
        .await
        .expect("connect the reliability pool")
}

/// Opens `n` connections of `pool` at once and returns them to it, so the
/// tasks of a race do not wait for connects after their barrier.
pub(crate) async fn warm(pool: &PgPool, n: usize) {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(pool.acquire().await.expect("warm the pool"));
    }
}

/// The SQLSTATE of a database error.
pub(crate) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|db| db.code())
        .map(|c| c.into_owned())
}

/// A value no other test (or earlier run) has used.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// SplitMix64: a small deterministic PRNG, so a seed fixes the whole plan of
/// a test (only the interleaving of tasks is left to the machine).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    /// `k` distinct indexes of `0..n`, in random order.
    pub(crate) fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }
}

#[test]
fn the_rng_is_deterministic_and_spreads() {
    let (mut a, mut b) = (Rng::new(7), Rng::new(7));
    let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    let mut seen = [0usize; 8];
    for _ in 0..8000 {
        seen[a.below(8)] += 1;
    }
    assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
    let picks = a.distinct(4, 8);
    let mut sorted = picks.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 4);
    assert!((0..100).all(|_| (-3..=3).contains(&a.between(-3, 3))));
}
