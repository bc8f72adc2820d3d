//! The older peer: es-entity 0.12.10 from crates.io (compiled in
//! `peer012/`), adapted to [`Subject`]. Only the calling convention
//! differs; the work is the same. This release offers every operation the
//! account workloads use (`create_all` and `update_all` included).

use es_entity_bench_peer012::es_entity::{EsEntity, ListDirection, PaginatedQueryArgs};
use es_entity_bench_peer012::{
    Account, AccountId, AccountModifyError, Accounts, NewAccount, account_cursor,
};
use uuid::Uuid;

use crate::subject::{Res, Subject, Write};

type Cursor = account_cursor::AccountByNameCursor;

pub async fn connect(url: &str, max_connections: u32) -> Res<Accounts> {
    Ok(es_entity_bench_peer012::connect(url, max_connections).await?)
}

impl Subject for Accounts {
    type Entity = Account;
    type Cursor = Cursor;
    const NAME: &'static str = "peer012";

    async fn create(&self, id: Uuid, name: String) -> Res<Account> {
        let id = AccountId::from(id);
        Ok(Accounts::create(self, NewAccount { id, name }).await?)
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
            // A unique violation on the events table's (id, sequence).
            Err(AccountModifyError::ConcurrentModification) => Ok(Write::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    async fn find_by_id(&self, id: Uuid) -> Res<Account> {
        Ok(Accounts::find_by_id(self, AccountId::from(id)).await?)
    }

    async fn find_by_name<'a>(&'a self, name: &'a str) -> Res<Account> {
        Ok(Accounts::find_by_name(self, name).await?)
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
        .await?;
        let n = page.entities.len();
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
        Ok(Accounts::create_all(self, new).await?)
    }

    async fn update_all<'a>(&'a self, entities: &'a mut [Account]) -> Res<usize> {
        Ok(Accounts::update_all(self, entities).await?)
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
