//! Every migration's `down.sql` must undo its `up.sql` exactly: for each migration in order,
//! up then down leaves the schema as it was, and up again gives the same schema as the first up.

use burgernet_core::db::{self, MIGRATIONS};
use diesel::RunQueryDsl;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;

use crate::helpers::TestDatabase;

#[derive(diesel::QueryableByName)]
struct SchemaLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// A canonical description of everything in the public schema that a migration can create.
const SCHEMA_SNAPSHOT: &str = r#"
SELECT line FROM (
    SELECT format('extension %s', extname) AS line FROM pg_extension
    UNION ALL
    SELECT format('column %s.%s %s null=%s default=%s', c.table_name, c.column_name,
                  c.udt_name, c.is_nullable, coalesce(c.column_default, ''))
      FROM information_schema.columns c
     WHERE c.table_schema = 'public' AND c.table_name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
       AND conrelid::regclass::text <> '__diesel_schema_migrations'
    UNION ALL
    SELECT format('index %s', indexdef) FROM pg_indexes
     WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT format('function %s(%s) %s', proname, pg_get_function_identity_arguments(oid), md5(prosrc))
      FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('type %s', typname) FROM pg_type
     WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c') AND typrelid = 0
    UNION ALL
    SELECT format('sequence %s', sequencename) FROM pg_sequences WHERE schemaname = 'public'
    UNION ALL
    SELECT format('view %s %s', viewname, md5(definition)) FROM pg_views WHERE schemaname = 'public'
) lines ORDER BY line
"#;

fn snapshot(conn: &mut AsyncConnectionWrapper<AsyncPgConnection>) -> Vec<String> {
    diesel::sql_query(SCHEMA_SNAPSHOT)
        .load::<SchemaLine>(conn)
        .expect("read the schema")
        .into_iter()
        .map(|row| row.line)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_down_migration_reverses_its_up_migration() {
    let database = TestDatabase::empty().await;
    let connection = database.connect().await;
    let migration_count = MigrationSource::<Pg>::migrations(&MIGRATIONS).unwrap().len();
    assert!(migration_count >= 3, "the foundation has at least three migrations");

    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(connection);
        for _ in 0..migration_count {
            let before = snapshot(&mut conn);
            let version = conn.run_next_migration(MIGRATIONS).expect("up").to_string();
            let after_up = snapshot(&mut conn);
            assert_ne!(before, after_up, "migration {version} changes nothing");

            conn.revert_last_migration(MIGRATIONS).expect("down");
            let after_down = snapshot(&mut conn);
            assert_eq!(before, after_down, "down.sql of {version} does not restore the schema before it");

            conn.run_next_migration(MIGRATIONS).expect("up again");
            assert_eq!(after_up, snapshot(&mut conn), "re-applying {version} gives another schema");
        }
        assert!(conn.has_pending_migration(MIGRATIONS).map(|pending| !pending).unwrap());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_migrated_database_has_postgis_and_nothing_pending() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    assert_eq!(db::pending_migrations(&mut conn).await.unwrap(), Vec::<String>::new());

    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let version: Version = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT postgis_lib_version() AS version"),
        &mut conn,
    )
    .await
    .expect("PostGIS is installed by the first migration");
    assert!(version.version.starts_with('3'), "PostGIS 3.x, got {}", version.version);
}
