//! The operators' door into a running server: `linkup serve` listens on a Unix socket,
//! `<data-dir>/admin.sock` (beside the SQLite database when `--database-url` puts it
//! elsewhere; mode 0600: only the server's user may use it), and runs each
//! `operators::Command` it receives through its own `App`, so the command's events and socket
//! closures go through its bus and reach every node. One JSON line in (the command), one JSON
//! line out (the `Outcome`), then the connection closes.
//!
//! **Invariant**: nothing but a connection to this socket, which needs the server's own user,
//! can run an operator command against a running server; there is no HTTP route for them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::config::{Config, StoreLocation};
use crate::operators::{self, Command, Outcome};

/// The socket's name under the data directory.
pub const SOCKET: &str = "admin.sock";

/// How long the command line waits for a server to answer a command (a deletion may be long).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// The listening socket; `stop` ends it and removes the file.
pub struct AdminSocket {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl AdminSocket {
    pub fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where the admin socket of a server of this configuration is: beside its SQLite database
/// (`<data-dir>/admin.sock` by default), or in its data directory on PostgreSQL. Found from
/// the store, so `linkup admin` given the same `--database-url` finds the server using it.
pub fn socket_path(config: &Config) -> PathBuf {
    match config.store_location() {
        Ok(StoreLocation::Sqlite(db)) => match db.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(SOCKET),
            _ => PathBuf::from(SOCKET),
        },
        _ => config.data_dir.join(SOCKET),
    }
}

/// Listens on `socket_path(config)`; `None` (with a warning) when it cannot, for instance
/// because another live server of the same store holds it.
pub fn listen(state: AppState, config: &Config) -> Option<AdminSocket> {
    let path = socket_path(config);
    let listener = match bind(&path) {
        Ok(listener) => listener,
        Err(err) => {
            tracing::warn!(error = %err, path = %path.display(), "no admin socket: `linkup admin` will act without this server");
            return None;
        }
    };
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(err) = answer(&state, stream).await {
                    tracing::debug!(error = %err, "admin connection failed");
                }
            });
        }
    });
    Some(AdminSocket { path, task })
}

fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        // A live server answers on it; a stale file from a stopped one is replaced.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another server answers on it",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

async fn answer(state: &AppState, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let outcome = match serde_json::from_str::<Command>(&line) {
        Ok(command) => {
            tracing::info!(?command, "operator command");
            operators::run(state, &command).await
        }
        Err(err) => Outcome {
            exit: 2,
            stdout: String::new(),
            stderr: format!("the server did not understand the command: {err}\n"),
        },
    };
    let mut reply = serde_json::to_vec(&outcome).map_err(std::io::Error::other)?;
    reply.push(b'\n');
    write.write_all(&reply).await?;
    write.shutdown().await
}

/// Sends `command` to the server of this configuration's admin socket; `None` when no server
/// answers there (then the caller acts in a process of its own).
pub async fn ask(config: &Config, command: &Command) -> Option<std::io::Result<Outcome>> {
    let stream = UnixStream::connect(socket_path(config)).await.ok()?;
    Some(exchange(stream, command).await)
}

async fn exchange(stream: UnixStream, command: &Command) -> std::io::Result<Outcome> {
    let (read, mut write) = stream.into_split();
    let mut request = serde_json::to_vec(command).map_err(std::io::Error::other)?;
    request.push(b'\n');
    write.write_all(&request).await?;
    let mut line = String::new();
    tokio::time::timeout(ANSWER_TIMEOUT, BufReader::new(read).read_line(&mut line))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))??;
    serde_json::from_str(&line).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_is_beside_the_sqlite_database_or_in_the_data_directory() {
        let mut config = Config::for_tests("/srv/linkup");
        assert_eq!(
            socket_path(&config),
            PathBuf::from("/srv/linkup/admin.sock")
        );
        config.database_url = Some("sqlite:///var/db/chat.db".into());
        assert_eq!(socket_path(&config), PathBuf::from("/var/db/admin.sock"));
        config.database_url = Some("postgres://linkup@db/linkup".into());
        assert_eq!(
            socket_path(&config),
            PathBuf::from("/srv/linkup/admin.sock")
        );
    }
}
