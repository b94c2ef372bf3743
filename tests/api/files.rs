//! The data directory is the server's user's alone (PROTOCOL.md, Robustness): `linkup serve`,
//! started with a permissive umask on a directory an older version left open, leaves every
//! directory 0700 and every file 0600 — the database and its log, uploads and their scratch.

use std::os::unix::fs::PermissionsExt;

use reqwest::StatusCode;

use crate::backend::TestStore;
use crate::process::{Linkup, signup};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_of_the_data_directory_is_the_servers_users_only() {
    let store = TestStore::new(crate::BACKEND).await;
    let dir = store.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let stray = dir.join("notes.txt");
    std::fs::write(&stray, "left by an older version").unwrap();
    std::fs::set_permissions(&stray, std::fs::Permissions::from_mode(0o644)).unwrap();

    let mut server = Linkup::start(&store).await;
    let alice = signup(&server.url, "alice").await;
    let uploaded = alice
        .http
        .post(format!("{}/api/uploads?filename=cv.pdf", server.url))
        .header("X-CSRF-Token", alice.csrf.clone().unwrap_or_default())
        .body(b"%PDF-1.4\n%%EOF\n".to_vec())
        .send()
        .await
        .expect("uploaded");
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    assert!(server.terminate().await.success());

    let mut seen = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{}", path.display());
        seen += 1;
        if path.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
    assert!(
        seen >= 4,
        "the directory, the database, uploads/ and the upload: {seen}"
    );
}
