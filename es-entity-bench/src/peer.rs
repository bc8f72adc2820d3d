//! The peer: es-entity 0.20 from crates.io (compiled in `peer/`), adapted to
//! [`Subject`]. Only the calling convention differs; the work is the same.

use es_entity_bench_peer::es_entity::{
    EsEntity, Fail, ListDirection, PaginatedQueryArgs, TransientKind,
};
use es_entity_bench_peer::{Account, AccountId, Accounts, NewAccount, account_cursor};
use uuid::Uuid;

use crate::subject::{BoxError, Res, Subject, Write};

type Cursor = account_cursor::AccountByNameCursor;

/// The release's errors print fine but are not all `Error + Send + Sync`
/// in every lane, so they are carried as text.
fn boxed(e: impl std::fmt::Debug) -> BoxError {
    format!("{e:?}").into()
}

pub async fn connect(url: &str, max_connections: u32) -> Res<Accounts> {
    es_entity_bench_peer::connect(url, max_connections)
        .await
        .map_err(boxed)
}

impl Subject for Accounts {
    type Entity = Account;
    type Cursor = Cursor;
    const NAME: &'static str = "peer";

    async fn create(&self, id: Uuid, name: String) -> Res<Account> {
        let id = AccountId::from(id);
        Accounts::create(self, NewAccount { id, name })
            .await
            .map_err(boxed)
    }

    fn deposit(entity: &mut Account, amount: i64) {
        entity.deposit(amount);
    }

    fn rename(entity: &mut Account, name: String) {
        entity.rename(name);
    }

    async fn update<'a>(&'a self, entity: &'a mut Account) -> Res<Write> {
        match Accounts::update(self, entity).await {
            Ok(_) => Ok(Write::Done),
            // "conflicts surfaced as a transient error lane"
            Err(Fail::Transient(t)) if t.kind == TransientKind::OptimisticConflict => {
                Ok(Write::Conflict)
            }
            Err(e) => Err(boxed(e)),
        }
    }

    async fn find_by_id(&self, id: Uuid) -> Res<Account> {
        Accounts::find_by_id(self, AccountId::from(id))
            .await
            .map_err(boxed)
    }

    async fn find_by_name<'a>(&'a self, name: &'a str) -> Res<Account> {
        Accounts::find_by_name(self, name).await.map_err(boxed)
    }

    async fn list_by_name(
        &self,
        first: usize,
        after: Option<Cursor>,
    ) -> Res<(usize, Option<Cursor>)> {
        let page = Accounts::list_by_name(
            self,
            PaginatedQueryArgs { first, after },
            ListDirection::Ascending,
        )
        .await
        .map_err(boxed)?;
        let n = page.entities().len();
        Ok((n, page.into_next_query().and_then(|q| q.after)))
    }

    async fn create_all(&self, new: Vec<(Uuid, String)>) -> Res<Vec<Account>> {
        let new = new
            .into_iter()
            .map(|(id, name)| NewAccount {
                id: AccountId::from(id),
                name,
            })
            .collect();
        Accounts::create_all(self, new).await.map_err(boxed)
    }

    async fn update_all<'a>(&'a self, entities: &'a mut [Account]) -> Res<usize> {
        Accounts::update_all(self, entities).await.map_err(boxed)
    }

    fn id(entity: &Account) -> Uuid {
        entity.id.into()
    }

    fn balance(entity: &Account) -> i64 {
        entity.balance
    }

    fn persisted_events(entity: &Account) -> usize {
        entity.events().len_persisted()
    }
}
