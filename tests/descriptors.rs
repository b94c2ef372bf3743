//! A server out of file descriptors refuses new connections and keeps serving: it neither
//! crashes nor leaves them hanging. The binary runs under `prlimit` with a hard limit of 64
//! descriptors (which `serve` cannot raise), and is sent more connections than that.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The child server; killed and reaped on drop.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `linkup serve` with at most `files` descriptors; returns it and its address.
fn start(dir: &std::path::Path, files: u32) -> (Serve, String) {
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={files}:{files}"))
        .arg(env!("CARGO_BIN_EXE_linkup"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_remove("LINKUP_DATABASE_URL")
        .env_remove("LINKUP_REDIS_URL")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit and linkup start");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(at) = line.find("listening on http://") {
                let addr = line[at + "listening on http://".len()..].trim().to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    (Serve(child), addr)
}

/// Opens a connection and asks for `/healthz`; returns the open connection if it was served.
async fn served(addr: &str) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = [0u8; 12];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer))
        .await
        .expect("an answer or a closed connection, not a hang");
    match read {
        Ok(_) if answer.starts_with(b"HTTP/1.1 200") => Some(stream),
        _ => None,
    }
}

#[tokio::test]
async fn out_of_descriptors_the_server_refuses_and_survives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut server, addr) = start(dir.path(), 64);

    let (mut open, mut refused) = (Vec::new(), 0);
    for _ in 0..100 {
        match served(&addr).await {
            Some(stream) => open.push(stream),
            None => refused += 1,
        }
    }
    assert!(!open.is_empty(), "some connections are served");
    assert!(refused > 0, "beyond 64 descriptors connections are refused");
    assert!(
        server.0.try_wait().expect("child status").is_none(),
        "the server is still running"
    );

    // Once descriptors come back, new connections are served again.
    drop(open);
    let mut again = None;
    for _ in 0..50 {
        again = served(&addr).await;
        if again.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some(),
        "the server serves again after connections close"
    );
}
