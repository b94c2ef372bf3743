//! `linkup copy-to-postgres`: moves an embedded install to PostgreSQL.

use crate::config::{Config, StoreLocation};
use crate::store::Store;
use crate::store::copy;
use crate::store::postgres::{PostgresOptions, PostgresStore};
use crate::store::sqlite::{SqliteOptions, SqliteStore};

/// Copies the SQLite database selected by `config` into the (empty) PostgreSQL database at `to`.
pub async fn run(config: Config, to: String) -> anyhow::Result<()> {
    let StoreLocation::Sqlite(path) = config.store_location().map_err(anyhow::Error::msg)? else {
        anyhow::bail!("the source must be SQLite: use --data-dir or --database-url sqlite://PATH");
    };
    if !path.exists() {
        anyhow::bail!(
            "{} does not exist: point --data-dir at the install to copy",
            path.display()
        );
    }
    // Opening brings both schemas to this build's version.
    SqliteStore::open(&path, SqliteOptions::default())
        .await?
        .close()
        .await;
    let target = PostgresStore::open(&to, PostgresOptions::default()).await?;
    let report = copy::sqlite_to_postgres(&path, target.pool()).await;
    target.close().await;
    for (table, rows) in report? {
        println!("{table:>22}: {rows} rows");
    }
    println!(
        "copied {} into PostgreSQL; start the nodes with --database-url {to}",
        path.display()
    );
    Ok(())
}
