//! Nested entities: an aggregate root holding child entities that have
//! their own events, tables and repository ([`Nested`]), the link between
//! a parent entity and its children ([`Parent`]) and the error a parent's
//! write reports when a child's write failed ([`NestedError`]).
//!
//! The parent repository's writes persist the children through the child
//! repository's `create_all_in_op` / `update_all_in_op` in the parent's
//! transaction, and its reads load the whole tree in one statement; see
//! the book's "Nested entities" chapter.

use std::collections::HashMap;
use std::fmt;

use crate::error::{ConstraintKind, EntityHydrationError};
use crate::events::{EntityEvents, EsEvent};
use crate::read::Row;
use crate::repo_error::{CreateError, EntityColumn, ModifyError};
use crate::traits::EsEntity;

/// The child entities of one parent: those loaded with it (persisted) and
/// those added since (new, as the child's `New` values). The parent
/// repository's `update` creates the new ones and writes the new events of
/// the persisted ones, in the parent's transaction.
///
/// ```
/// use es_entity::prelude::*;
/// # entity_id! { LineId }
/// # #[derive(EsEvent, Debug, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "LineId")]
/// # pub enum LineEvent { Added { sku: String } }
/// # #[derive(EsEntity)]
/// # pub struct Line { pub id: LineId, events: EntityEvents<LineEvent> }
/// # impl TryFromEvents<LineEvent> for Line {
/// #     fn try_from_events(events: EntityEvents<LineEvent>) -> Result<Self, EntityHydrationError> {
/// #         Ok(Line { id: *events.id(), events })
/// #     }
/// # }
/// # pub struct NewLine { pub id: LineId, pub sku: String }
/// # impl IntoEvents<LineEvent> for NewLine {
/// #     fn into_events(self) -> EntityEvents<LineEvent> {
/// #         EntityEvents::init(self.id, [LineEvent::Added { sku: self.sku }])
/// #     }
/// # }
/// let mut lines: Nested<Line> = Nested::default();
/// lines.add_new(NewLine { id: LineId::new(), sku: "apple".into() });
/// assert_eq!(lines.len_new(), 1);
/// assert_eq!(lines.len_persisted(), 0);
/// assert!(lines.any_new());
/// ```
pub struct Nested<T: EsEntity> {
    new: Vec<T::New>,
    persisted: Vec<T>,
    index: HashMap<<T::Event as EsEvent>::EntityId, usize>,
}

impl<T: EsEntity> Default for Nested<T> {
    fn default() -> Self {
        Self {
            new: Vec::new(),
            persisted: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: EsEntity + fmt::Debug> fmt::Debug for Nested<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nested")
            .field("len_new", &self.new.len())
            .field("persisted", &self.persisted)
            .finish()
    }
}

impl<T: EsEntity> Nested<T> {
    /// Stages a new child; the parent's next write creates it.
    pub fn add_new(&mut self, new: T::New) {
        self.new.push(new);
    }

    /// The children staged and not yet created.
    pub fn new_entities_mut(&mut self) -> &mut Vec<T::New> {
        &mut self.new
    }

    /// How many children are staged.
    pub fn len_new(&self) -> usize {
        self.new.len()
    }

    /// How many children are stored (loaded or created by a write).
    pub fn len_persisted(&self) -> usize {
        self.persisted.len()
    }

    /// Whether a write has anything to do: a staged child, or a stored
    /// child with new events or with changes among its own nested children.
    pub fn any_new(&self) -> bool {
        !self.new.is_empty() || self.persisted.iter().any(changed)
    }

    /// The stored child with this id.
    pub fn get_persisted(&self, id: &<T::Event as EsEvent>::EntityId) -> Option<&T> {
        self.index.get(id).map(|&i| &self.persisted[i])
    }

    /// The stored child with this id, to change it.
    pub fn get_persisted_mut(&mut self, id: &<T::Event as EsEvent>::EntityId) -> Option<&mut T> {
        self.index.get(id).map(|&i| &mut self.persisted[i])
    }

    /// The first stored child matching `pred`, in load order.
    pub fn find_persisted(&self, pred: impl FnMut(&&T) -> bool) -> Option<&T> {
        self.persisted.iter().find(pred)
    }

    /// The first stored child matching `pred`, in load order, to change it.
    pub fn find_persisted_mut(&mut self, pred: impl FnMut(&&mut T) -> bool) -> Option<&mut T> {
        self.persisted.iter_mut().find(pred)
    }

    /// The stored children, in load order (the order they were created in
    /// by this value's writes, then by id for loaded ones).
    pub fn iter_persisted(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.persisted.iter()
    }

    /// The stored children, to change them.
    pub fn iter_persisted_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.persisted.iter_mut()
    }

    /// How many persisted events the stored children hold, their own
    /// nested children's included.
    #[doc(hidden)]
    pub fn events_persisted(&self) -> usize {
        self.persisted
            .iter()
            .map(|c| c.events().len_persisted() + c.nested_events_persisted())
            .sum()
    }

    fn push_persisted(&mut self, child: T) {
        self.index
            .insert(child.events().id().clone(), self.persisted.len());
        self.persisted.push(child);
    }

    fn reindex(&mut self) {
        self.index = self
            .persisted
            .iter()
            .enumerate()
            .map(|(i, c)| (c.events().id().clone(), i))
            .collect();
    }
}

/// A parent entity's access to one kind of its children. `#[derive(EsEntity)]`
/// implements it for each field marked `#[es_entity(nested)]`; the parent
/// repository's generated writes and reads go through it.
///
/// ```
/// # use es_entity::prelude::*;
/// # entity_id! { LineId, OrderId }
/// # #[derive(EsEvent, Debug, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "LineId")]
/// # pub enum LineEvent { Added { sku: String } }
/// # #[derive(EsEntity)]
/// # pub struct Line { pub id: LineId, events: EntityEvents<LineEvent> }
/// # impl TryFromEvents<LineEvent> for Line {
/// #     fn try_from_events(events: EntityEvents<LineEvent>) -> Result<Self, EntityHydrationError> {
/// #         Ok(Line { id: *events.id(), events })
/// #     }
/// # }
/// # pub struct NewLine { pub id: LineId, pub sku: String }
/// # impl IntoEvents<LineEvent> for NewLine {
/// #     fn into_events(self) -> EntityEvents<LineEvent> {
/// #         EntityEvents::init(self.id, [LineEvent::Added { sku: self.sku }])
/// #     }
/// # }
/// # #[derive(EsEvent, Debug, Serialize, Deserialize)]
/// # #[serde(tag = "type", rename_all = "snake_case")]
/// # #[es_event(id = "OrderId")]
/// # pub enum OrderEvent { Opened }
/// # impl TryFromEvents<OrderEvent> for Order {
/// #     fn try_from_events(events: EntityEvents<OrderEvent>) -> Result<Self, EntityHydrationError> {
/// #         Ok(Order { id: *events.id(), lines: Nested::default(), events })
/// #     }
/// # }
/// # pub struct NewOrder { pub id: OrderId }
/// # impl IntoEvents<OrderEvent> for NewOrder {
/// #     fn into_events(self) -> EntityEvents<OrderEvent> {
/// #         EntityEvents::init(self.id, [OrderEvent::Opened])
/// #     }
/// # }
/// use es_entity::Parent;
///
/// #[derive(EsEntity)]
/// pub struct Order {
///     pub id: OrderId,
///     #[es_entity(nested)]
///     lines: Nested<Line>,
///     events: EntityEvents<OrderEvent>,
/// }
///
/// let mut order = Order::try_from_events(EntityEvents::init(OrderId::new(), [OrderEvent::Opened]))?;
/// // Generic code reaches the lines through `Parent<Line>`.
/// fn stage(parent: &mut impl Parent<Line>, sku: &str) {
///     parent.nested_mut().add_new(NewLine { id: LineId::new(), sku: sku.into() });
/// }
/// stage(&mut order, "apple");
/// assert_eq!(Parent::<Line>::nested(&order).len_new(), 1);
/// // A staged child is something for the order's next write to do.
/// assert!(Parent::<Line>::nested(&order).any_new());
/// # Ok::<(), EntityHydrationError>(())
/// ```
pub trait Parent<T: EsEntity> {
    /// The children.
    fn nested(&self) -> &Nested<T>;
    /// The children, to change them.
    fn nested_mut(&mut self) -> &mut Nested<T>;
}

/// What a child repository tells its parent repository (`#[derive(EsRepo)]`
/// implements it for a repository with a `parent` column): the parent's
/// generated code checks at compile time that the tables its tree read
/// names are these.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a nested child repository",
    label = "`#[es_repo(nested)]` needs the child repository to name its parent key",
    note = "mark the child's column holding the parent's id: `columns(order_id(ty = \"OrderId\", parent))`"
)]
///
/// Generic code can read them, for example to name a child's tables in
/// a hand-written query or a report:
///
/// ```
/// use es_entity::NestedRepo;
///
/// /// The join a tree read makes from a parent's index rows to this child's.
/// fn join_clause<R: NestedRepo>(parent_alias: &str) -> String {
///     format!(
///         "JOIN {} c ON c.{} = {parent_alias}.id{}",
///         R::INDEX_TABLE,
///         R::PARENT_COLUMN,
///         if R::SOFT_DELETE { " AND c.deleted = FALSE" } else { "" },
///     )
/// }
/// ```
pub trait NestedRepo: crate::traits::EsRepo {
    /// The child's index table.
    const INDEX_TABLE: &'static str;
    /// The child's events table.
    const EVENTS_TABLE: &'static str;
    /// The index-table column holding the parent's id.
    const PARENT_COLUMN: &'static str;
    /// Whether the child repository soft-deletes (`delete = "soft"`).
    const SOFT_DELETE: bool;
    /// How many `#[es_repo(nested)]` fields the child repository has (its
    /// own children; a parent's tree read loads them as the grandchildren).
    const NESTED_COUNT: usize;

    /// The child repository's pool. A child repository used only through
    /// its parent never reads its pool field itself; this impl does, so
    /// the field is not reported as never read.
    #[doc(hidden)]
    fn child_pool(&self) -> &sqlx::PgPool;
}

/// The id and event types of a parent repository's `N`-th nested child,
/// named in the column overrides of the tree read (`<Self as NestedNode<0>>::Id`
/// fits PostgreSQL's 63-byte limit on aliases whatever the child's name).
#[doc(hidden)]
pub trait NestedNode<const N: usize> {
    /// The child's repository.
    type Repo;
    /// The child's id type.
    type Id;
    /// The child's `event` column, parsed while the row is decoded.
    type Event;
}

/// Whether two strings are equal, in a constant (the generated table checks).
#[doc(hidden)]
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Hydrates the children of a tree read and hands each parent its own. The
/// rows are the child node's rows (each with its parent's id), grouped by
/// child and ordered by sequence; children whose parent is not among
/// `parents` (a listing's extra row) are dropped.
#[doc(hidden)]
pub fn attach<P, C>(
    parents: &mut [P],
    rows: Vec<(<P::Event as EsEvent>::EntityId, Row<C>)>,
) -> Result<(), EntityHydrationError>
where
    P: EsEntity + Parent<C>,
    C: EsEntity,
{
    if parents.is_empty() {
        return Ok(());
    }
    let (owners, children) = hydrate::<P, C>(rows)?;
    adopt(parents, owners, children);
    Ok(())
}

/// The first half of [`attach`]: the children of a tree read's rows, each
/// with its parent's id, not yet handed over (a two-level read gives them
/// their own children first).
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn hydrate<P, C>(
    rows: Vec<(<P::Event as EsEvent>::EntityId, Row<C>)>,
) -> Result<(Vec<<P::Event as EsEvent>::EntityId>, Vec<C>), EntityHydrationError>
where
    P: EsEntity,
    C: EsEntity,
{
    let mut owners = Vec::new();
    let mut last: Option<&<C::Event as EsEvent>::EntityId> = None;
    for (parent, row) in &rows {
        if last != Some(&row.entity_id) {
            owners.push(parent.clone());
            last = Some(&row.entity_id);
        }
    }
    let rows = rows.into_iter().map(|(_, row)| row);
    let (children, _) = EntityEvents::<C::Event>::load_n::<C>(rows, usize::MAX)?;
    Ok((owners, children))
}

/// The second half of [`attach`]: hands each parent its own children.
#[doc(hidden)]
pub fn adopt<P, C>(
    parents: &mut [P],
    owners: Vec<<P::Event as EsEvent>::EntityId>,
    children: Vec<C>,
) where
    P: EsEntity + Parent<C>,
    C: EsEntity,
{
    if parents.is_empty() {
        return;
    }
    let at: HashMap<_, _> = parents
        .iter()
        .enumerate()
        .map(|(i, p)| (p.events().id().clone(), i))
        .collect();
    for (owner, child) in owners.into_iter().zip(children) {
        if let Some(&i) = at.get(&owner) {
            parents[i].nested_mut().push_persisted(child);
        }
    }
}

/// Takes every parent's children of type `C` out, for a write that may
/// rebuild the parents from their events (an unchecked write's refresh
/// would start them with no children); [`restore`] puts them back.
#[doc(hidden)]
pub fn keep<P: Parent<C>, C: EsEntity>(parents: &mut [P]) -> Vec<Nested<C>> {
    parents
        .iter_mut()
        .map(|p| std::mem::take(p.nested_mut()))
        .collect()
}

/// Puts back what [`keep`] took.
#[doc(hidden)]
pub fn restore<P: Parent<C>, C: EsEntity>(parents: &mut [P], kept: Vec<Nested<C>>) {
    for (p, k) in parents.iter_mut().zip(kept) {
        *p.nested_mut() = k;
    }
}

/// Whether a stored child has anything for a write: new events of its own
/// or changes among its nested children.
fn changed<C: EsEntity>(c: &C) -> bool {
    c.events().any_new() || c.nested_changed()
}

#[doc(hidden)]
pub fn into_map<T: EsEntity, Out: From<T>>(
    entities: Vec<T>,
) -> HashMap<<T::Event as EsEvent>::EntityId, Out> {
    entities
        .into_iter()
        .map(|e| (e.events().id().clone(), Out::from(e)))
        .collect()
}

/// The staged children of every parent of a write, in parent order, and
/// how many each parent had (for [`give_created`]).
#[doc(hidden)]
pub fn take_new<P: Parent<C>, C: EsEntity>(parents: &mut [P]) -> (Vec<C::New>, Vec<usize>) {
    let mut all = Vec::new();
    let mut counts = Vec::with_capacity(parents.len());
    for p in parents.iter_mut() {
        let new = std::mem::take(&mut p.nested_mut().new);
        counts.push(new.len());
        all.extend(new);
    }
    (all, counts)
}

/// Hands the children `create_all` made from [`take_new`]'s values back to
/// their parents, as persisted children.
#[doc(hidden)]
pub fn give_created<P: Parent<C>, C: EsEntity>(
    parents: &mut [P],
    counts: &[usize],
    created: Vec<C>,
) {
    let mut created = created.into_iter();
    for (p, &n) in parents.iter_mut().zip(counts) {
        for child in created.by_ref().take(n) {
            p.nested_mut().push_persisted(child);
        }
    }
}

/// The stored children with new events of every parent of a write, moved
/// out into one batch for `update_all`, with where each came from (for
/// [`give_back`]).
#[doc(hidden)]
pub fn take_changed<P: Parent<C>, C: EsEntity>(parents: &mut [P]) -> (Vec<C>, Vec<usize>) {
    let mut batch = Vec::new();
    let mut counts = Vec::with_capacity(parents.len());
    for p in parents.iter_mut() {
        let nested = p.nested_mut();
        let (changed, kept): (Vec<C>, Vec<C>) = std::mem::take(&mut nested.persisted)
            .into_iter()
            .partition(|c| changed(c));
        counts.push(changed.len());
        batch.extend(changed);
        nested.persisted = kept;
    }
    (batch, counts)
}

/// Puts [`take_changed`]'s batch back (written or not), and restores each
/// parent's children in their order by id of first load.
#[doc(hidden)]
pub fn give_back<P: Parent<C>, C: EsEntity>(parents: &mut [P], counts: &[usize], batch: Vec<C>) {
    let mut batch = batch.into_iter();
    for (p, &n) in parents.iter_mut().zip(counts) {
        let nested = p.nested_mut();
        let order = std::mem::take(&mut nested.index);
        nested.persisted.extend(batch.by_ref().take(n));
        nested
            .persisted
            .sort_by_key(|c| order.get(c.events().id()).copied().unwrap_or(usize::MAX));
        nested.reindex();
    }
}

/// A parent's write failed in the write of one of its nested children: the
/// child's error, with what the parent's error helpers need to see through
/// it (`was_duplicate()`, `is_concurrent_modification()`, ...).
///
/// The parent repository builds it from the child repository's error; its
/// fields name the child and the facts of the failure, its `source()` is
/// the child's error:
///
/// ```
/// use std::error::Error as _;
/// use es_entity::{EntityColumn, ModifyError, NestedError};
/// # #[derive(Debug, Clone, Copy, PartialEq)]
/// # enum LineColumn { Id }
/// # impl std::fmt::Display for LineColumn {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("id") }
/// # }
/// # impl EntityColumn for LineColumn {
/// #     type EntityId = String;
/// #     const ENTITY: &'static str = "Line";
/// #     fn from_column_name(name: &str) -> Option<Self> { (name == "id").then_some(LineColumn::Id) }
/// #     fn column_name(&self) -> &'static str { "id" }
/// # }
///
/// // The lines' update_all lost a race on one line.
/// let child: ModifyError<LineColumn> = ModifyError::ConcurrentModification {
///     entity_id: "line-7".to_owned(),
///     expected_sequence: 3,
///     expected_version: 2,
///     actual_version: Some(3),
/// };
/// let err = NestedError::from_modify("lines", child);
/// assert_eq!((err.field, err.entity, err.operation), ("lines", "Line", "update"));
/// assert!(err.is_concurrent_modification());
/// assert_eq!(err.conflict.as_deref(), Some("line-7"));
/// assert_eq!(err.conflict_versions, Some((2, Some(3))));
/// assert!(!err.was_duplicate());
/// assert!(err.source().is_some());
/// ```
#[derive(Debug)]
pub struct NestedError {
    /// The parent's field (`#[es_repo(nested)]`) holding the children.
    pub field: &'static str,
    /// The child entity's name.
    pub entity: &'static str,
    /// Which child write failed: `"create"` (new children) or `"update"`.
    pub operation: &'static str,
    /// The kind of constraint, when a constraint rejected the child.
    pub constraint_kind: Option<ConstraintKind>,
    /// The violated constraint's name.
    pub constraint: Option<String>,
    /// The child's index-table column the constraint covers, when it is one.
    pub column: Option<&'static str>,
    /// The offending value as PostgreSQL reported it.
    pub value: Option<String>,
    /// The child that lost an optimistic-concurrency race, by id (or the
    /// grandchild, when the race was below the child).
    pub conflict: Option<String>,
    /// The entity `conflict` names: the child's, or a grandchild's.
    pub conflict_entity: Option<&'static str>,
    /// For a lost race, the version the child's writer expected and the
    /// one its stream had, when known (as `ModifyError::conflict_versions`).
    pub conflict_versions: Option<(usize, Option<usize>)>,
    /// Whether the connection failed with the outcome unknown.
    pub outcome_unknown: bool,
    /// The child repository's error.
    pub source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl NestedError {
    /// `field`'s `create_all` failed with `err`.
    pub fn from_create<C: EntityColumn>(field: &'static str, err: CreateError<C>) -> Self {
        let v = err.constraint_violation();
        let mut out = Self {
            field,
            entity: C::ENTITY,
            operation: "create",
            constraint_kind: v.map(|v| v.kind),
            constraint: v.and_then(|v| v.constraint.clone()),
            column: v.and_then(|v| v.column).map(|c| c.column_name()),
            value: v.and_then(|v| v.value.clone()),
            conflict: None,
            conflict_entity: None,
            conflict_versions: None,
            outcome_unknown: err.is_outcome_unknown(),
            source: Box::new(NoSource),
        };
        out.see_through(err.nested_error());
        out.source = Box::new(err);
        out
    }

    /// `field`'s `update_all` failed with `err`.
    pub fn from_modify<C: EntityColumn>(field: &'static str, err: ModifyError<C>) -> Self {
        let v = err.constraint_violation();
        let conflict = match &err {
            ModifyError::ConcurrentModification { entity_id, .. } => Some(entity_id.to_string()),
            _ => None,
        };
        let conflict_entity = conflict.as_ref().map(|_| C::ENTITY);
        let mut out = Self {
            field,
            entity: C::ENTITY,
            operation: "update",
            constraint_kind: v.map(|v| v.kind),
            constraint: v.and_then(|v| v.constraint.clone()),
            column: v.and_then(|v| v.column).map(|c| c.column_name()),
            value: v.and_then(|v| v.value.clone()),
            conflict,
            conflict_entity,
            conflict_versions: err.conflict_versions(),
            outcome_unknown: err.is_outcome_unknown(),
            source: Box::new(NoSource),
        };
        out.see_through(err.nested_error());
        out.source = Box::new(err);
        out
    }

    /// A grandchild's failure: its facts are this one's.
    fn see_through(&mut self, inner: Option<&NestedError>) {
        if let Some(n) = inner {
            self.constraint_kind = n.constraint_kind;
            self.constraint.clone_from(&n.constraint);
            self.column = n.column;
            self.value.clone_from(&n.value);
            self.conflict.clone_from(&n.conflict);
            self.conflict_entity = n.conflict_entity;
            self.conflict_versions = n.conflict_versions;
        }
    }

    /// Whether a unique constraint (or primary key) rejected the child.
    pub fn was_duplicate(&self) -> bool {
        self.constraint_kind == Some(ConstraintKind::Unique)
    }

    /// Whether the child lost an optimistic-concurrency race.
    pub fn is_concurrent_modification(&self) -> bool {
        self.conflict.is_some()
    }
}

impl fmt::Display for NestedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nested `{}` ({}): {}",
            self.field, self.entity, self.source
        )
    }
}

impl std::error::Error for NestedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// A placeholder while a [`NestedError`] is built.
#[derive(Debug)]
struct NoSource;

impl fmt::Display for NoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no source")
    }
}

impl std::error::Error for NoSource {}
