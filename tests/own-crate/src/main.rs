//! A service of our own using es-entity, written as book/src/own_crate.md
//! says: `cargo run` with `DATABASE_URL` pointing at PostgreSQL creates the
//! database if missing, applies `migrations/`, then creates, updates and
//! finds a user. Its code is examples/quickstart.rs without the book's
//! anchors (tests/it/own_crate.rs checks that they agree).

use es_entity::prelude::*;

entity_id! { UserId }

#[derive(EsEvent, Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[es_event(id = "UserId")]
pub enum UserEvent {
    Initialized { id: UserId, name: String },
    NameUpdated { name: String },
}

#[derive(EsEntity, Debug)]
pub struct User {
    pub id: UserId,
    pub name: String,
    events: EntityEvents<UserEvent>,
}

impl User {
    pub fn update_name(&mut self, new_name: impl Into<String>) -> Idempotent<()> {
        let new_name = new_name.into();
        idempotency_guard!(
            self.events.iter_all().rev(),
            already_applied: UserEvent::NameUpdated { name } if name == &new_name,
            resets_on: UserEvent::NameUpdated { .. }
        );
        self.name = new_name.clone();
        self.events.push(UserEvent::NameUpdated { name: new_name });
        Idempotent::Executed(())
    }
}

impl TryFromEvents<UserEvent> for User {
    fn try_from_events(events: EntityEvents<UserEvent>) -> Result<Self, EntityHydrationError> {
        let mut name = None;
        for event in events.iter_all() {
            match event {
                UserEvent::Initialized { name: n, .. } | UserEvent::NameUpdated { name: n } => {
                    name = Some(n.clone())
                }
            }
        }
        Ok(User {
            id: *events.id(),
            name: name.ok_or_else(|| events.missing_field("name"))?,
            events,
        })
    }
}

pub struct NewUser {
    pub id: UserId,
    pub name: String,
}

impl IntoEvents<UserEvent> for NewUser {
    fn into_events(self) -> EntityEvents<UserEvent> {
        EntityEvents::init(
            self.id,
            [UserEvent::Initialized {
                id: self.id,
                name: self.name,
            }],
        )
    }
}

#[derive(EsRepo, Debug)]
#[es_repo(entity = "User", columns(name = "String"))]
pub struct Users {
    pool: sqlx::PgPool,
}

impl Users {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }
}

impl Users {
    /// Users whose name starts with `prefix`, by name, at most `first`.
    pub async fn list_by_name_prefix(
        &self,
        prefix: &str,
        first: usize,
    ) -> Result<(Vec<User>, bool), UserQueryError> {
        es_query!(
            "SELECT id FROM users WHERE name LIKE $1 || '%' ORDER BY name LIMIT $2",
            prefix,
            (first + 1) as i64,
        )
        .fetch_n(&self.pool, first)
        .await
    }

    /// The user with exactly this name, if any.
    pub async fn maybe_find_by_exact_name(
        &self,
        name: &str,
    ) -> Result<Option<User>, UserQueryError> {
        es_query!("SELECT id FROM users WHERE name = $1", name)
            .fetch_optional(&self.pool)
            .await
    }
}

/// Walks through the lifecycle and returns what it printed.
pub async fn run(pool: sqlx::PgPool) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut log = Vec::new();
    // Names are unique in the table; a suffix keeps repeated runs apart.
    let suffix = UserId::new().to_string();
    let alice = format!("Alice-{}", &suffix[suffix.len() - 8..]);
    let alicia = format!("Alicia-{}", &suffix[suffix.len() - 8..]);

    let users = Users::new(pool);

    let new_user = NewUser {
        id: UserId::new(),
        name: alice.clone(),
    };
    let mut user = users.create(new_user).await?;
    log.push(format!("created {} named {}", user.id, user.name));

    assert!(user.update_name(&alicia).did_execute());
    assert!(user.update_name(&alicia).was_already_applied());
    let written = users.update(&mut user).await?;
    log.push(format!("renamed to {}: {written} event written", user.name));

    let loaded = users.find_by_id(user.id).await?;
    assert_eq!(loaded.name, alicia);
    assert_eq!(loaded.events().len_persisted(), 2);

    let by_name = users.find_by_name(&alicia).await?;
    assert_eq!(by_name.id, user.id);
    log.push(format!(
        "reloaded {} by id and by name: {} events",
        by_name.name,
        by_name.events().len_persisted()
    ));
    Ok(log)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::migrate::MigrateDatabase;

    // With `--schema`, prints the tables `Users` needs instead: the first
    // migration (book: Schema).
    if std::env::args().any(|arg| arg == "--schema") {
        print!("{}", Users::schema().to_sql());
        return Ok(());
    }

    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/es_entity_test".to_owned());
    if !sqlx::Postgres::database_exists(&url).await? {
        sqlx::Postgres::create_database(&url).await?;
    }
    let pool = sqlx::PgPool::connect(&url).await?;
    // Applies ./migrations, embedded into the binary at compile time.
    sqlx::migrate!().run(&pool).await?;
    // Stops with every difference and its fix if the tables are not what
    // `Users` needs.
    let drift = es_entity::schema::check(&pool, &[Users::schema()]).await?;
    if !drift.is_clean() {
        return Err(drift.to_string().into());
    }

    for line in run(pool).await? {
        println!("{line}");
    }
    Ok(())
}
