//! `es_query!` with entity-id parameters, shown in book/src/es_query.md.
//! Keep the ANCHOR markers in place.

use es_entity::*;

use crate::repo_fixtures::{
    Member, MemberId, Members, NewMember, NewTicket, Ticket, TicketId, TicketQueryError, Tickets,
    unique,
};

// ANCHOR: id_param
impl Tickets {
    /// A member's tickets, oldest id first: an entity id is a parameter
    /// like any other.
    pub async fn of_member(
        &self,
        member: MemberId,
        first: usize,
    ) -> Result<(Vec<Ticket>, bool), TicketQueryError> {
        es_query!(
            "SELECT id FROM tickets WHERE member_id = $1 ORDER BY id LIMIT $2",
            member,
            (first + 1) as i64
        )
        .fetch_n(&self.db, first)
        .await
    }
}
// ANCHOR_END: id_param

// ANCHOR: id_cast
impl Tickets {
    /// An id computed in place (here `ticket.member_id` through a method)
    /// is not rewritten: name its type with `as`, which sqlx takes as the
    /// parameter's Rust type.
    pub async fn of_same_member(
        &self,
        ticket: &Ticket,
    ) -> Result<Option<Ticket>, TicketQueryError> {
        es_query!(
            "SELECT id FROM tickets WHERE member_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
            owner_of(ticket) as MemberId,
            ticket.id
        )
        .fetch_optional(&self.db)
        .await
    }
}

fn owner_of(ticket: &Ticket) -> MemberId {
    ticket.member_id
}
// ANCHOR_END: id_cast

impl Tickets {
    /// Every argument form `es_query!` rewrites: a variable, a borrowed
    /// variable, a variable holding a reference, a field, a borrowed field;
    /// and a non-id `String` field next to them, not moved.
    pub async fn by_forms(
        &self,
        member: MemberId,
        holder: &Holder,
    ) -> Result<Option<Ticket>, TicketQueryError> {
        let by_ref: &MemberId = &member;
        es_query!(
            "SELECT id FROM tickets
             WHERE member_id = $1 AND member_id = $2 AND member_id = $3
               AND member_id = $4 AND member_id = $5 AND title = $6",
            member,
            &member,
            by_ref,
            holder.member,
            &holder.member,
            holder.title
        )
        .fetch_optional(&self.db)
        .await
    }
}

pub struct Holder {
    pub member: MemberId,
    pub title: String,
}

async fn member_with_tickets(
    members: &Members,
    tickets: &Tickets,
    titles: &[&str],
) -> (Member, Vec<TicketId>) {
    let member = members.create(NewMember::fresh()).await.unwrap();
    let mut ids = Vec::new();
    for title in titles {
        let id = TicketId::new();
        tickets
            .create(NewTicket {
                id,
                member_id: member.id,
                title: (*title).to_owned(),
            })
            .await
            .unwrap();
        ids.push(id);
    }
    (member, ids)
}

#[tokio::test]
async fn an_entity_id_is_a_parameter() -> Result<(), Box<dyn std::error::Error>> {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let (member, ids) = member_with_tickets(&members, &tickets, &["a", "b", "c"]).await;
    let (_, others) = member_with_tickets(&members, &tickets, &["x"]).await;

    let (page, more) = tickets.of_member(member.id, 2).await?;
    assert_eq!(page.iter().map(|t| t.id).collect::<Vec<_>>(), ids[..2]);
    assert!(more);
    let (all, more) = tickets.of_member(member.id, 10).await?;
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), ids);
    assert!(all.iter().all(|t| t.member_id == member.id));
    assert!(!more);
    assert!(tickets.of_member(MemberId::new(), 10).await?.0.is_empty());

    let sibling = tickets.of_same_member(&all[2]).await?.expect("a sibling");
    assert_eq!(sibling.id, ids[0]);
    let lone = tickets.find_by_id(others[0]).await?;
    assert!(tickets.of_same_member(&lone).await?.is_none());
    Ok(())
}

#[tokio::test]
async fn every_rewritten_argument_form() -> Result<(), Box<dyn std::error::Error>> {
    let pool = es_entity_tests::pool().await;
    let (members, tickets) = (Members::new(&pool), Tickets::new(&pool));
    let title = unique("form");
    let (member, ids) = member_with_tickets(&members, &tickets, &[&title]).await;
    let holder = Holder {
        member: member.id,
        title: title.clone(),
    };
    let found = tickets.by_forms(member.id, &holder).await?.expect("found");
    assert_eq!(found.id, ids[0]);
    // The `String` field was borrowed, not moved.
    assert_eq!(holder.title, title);
    let elsewhere = Holder {
        member: MemberId::new(),
        title,
    };
    assert!(tickets.by_forms(member.id, &elsewhere).await?.is_none());
    Ok(())
}
