//! The database server itself goes away in the middle of a run. A private MariaDB instance (its
//! own data directory and port, started by the test, so the shared test server is never touched)
//! is killed with SIGKILL while woosync writes chunks:
//! - down for good: woosync gives up after its reconnect attempts, exits with the database code
//!   and says how to continue; once the server is back, `woosync resume` finishes the run;
//! - back within seconds: woosync reconnects, checks the interrupted chunk's checkpoint, takes its
//!   run lock again (a second run started meanwhile is refused) and goes on.
//!
//! Both end with the shop exactly as one uninterrupted run leaves it, every product written once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use woosync::fixture::{self, Spec};

const PRODUCTS: usize = 3_000;
const CONFIG: &str = "[sync]\nchunk_size = 100\nchunk_target_ms = 0\npause_between_chunks_ms = 150\n\
                      [guard]\nmax_zero_stock_percent = 100\nmax_price_change_percent = 100\n";

/// A MariaDB server of the test's own, on a free loopback port.
struct Server {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn install() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            // mariadbd will not run as root: the data directory belongs to the mysql user.
            let status = Command::new("chown").args(["-R", "mysql:mysql"]).arg(dir.path()).status().unwrap();
            assert!(status.success(), "chown the private server's directory");
        }
        let mut install = Command::new("mariadb-install-db");
        install.arg("--no-defaults").arg(format!("--datadir={}", data.display())).args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if root {
            install.arg("--user=mysql");
        }
        let out = install.output().expect("mariadb-install-db (installed with the server)");
        assert!(out.status.success(), "mariadb-install-db failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Server { dir, port, child: None }
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let d = self.dir.path();
        let mut cmd = Command::new("/usr/sbin/mariadbd");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            .args(["--bind-address=127.0.0.1", "--innodb-buffer-pool-size=64M", "--skip-log-bin"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("server.log")).unwrap());
        if unsafe { libc::geteuid() } == 0 {
            cmd.arg("--user=mysql");
        }
        self.child = Some(cmd.spawn().expect("start mariadbd"));
        let started = Instant::now();
        loop {
            if let Ok(conn) = Conn::new(Opts::from_url(&self.url()).unwrap()).await {
                let _ = conn.disconnect().await;
                return;
            }
            let log = std::fs::read_to_string(d.join("server.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(60), "the private server did not come up:\n{log}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown, InnoDB recovers at the next start.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn specs() -> Vec<Spec> {
    (0..PRODUCTS)
        .map(|i| {
            if i % 30 == 29 {
                Spec::variable(&format!("R-{i:04}"), (0..2).map(|v| Spec::simple(&format!("R-{i:04}-{v}"), "15.00", 4)).collect())
            } else {
                Spec::simple(&format!("R-{i:04}"), &format!("{}.00", 10 + i % 50), (i % 6) as i64)
            }
        })
        .collect()
}

/// Every row changes price and stock.
fn feed() -> String {
    let mut out = String::from("sku,regular_price,stock\n");
    for i in 0..PRODUCTS {
        let skus: Vec<String> = if i % 30 == 29 { (0..2).map(|v| format!("R-{i:04}-{v}")).collect() } else { vec![format!("R-{i:04}")] };
        for sku in skus {
            out.push_str(&format!("{sku},{}.50,{}\n", 20 + i % 40, (i + 1) % 5));
        }
    }
    out
}

fn woosync(dir: &Path, url: &str, command: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_woosync"));
    cmd.arg(command).arg("--config").arg(dir.join("woosync.toml")).env("WOOSYNC_DATABASE_URL", url).env("WOOSYNC_LOG", "warn");
    cmd
}

/// Waits until the run has committed `chunks` chunks (polling the journal).
async fn wait_for_chunks(url: &str, chunks: i64) {
    let mut conn = Conn::new(Opts::from_url(url).unwrap()).await.unwrap();
    let started = Instant::now();
    loop {
        let done: Option<i64> = conn.query_first("SELECT COUNT(*) FROM wp_woosync_chunks").await.unwrap_or(None);
        if done.unwrap_or(0) >= chunks {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the run never reached chunk {chunks}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shop after the run, and the products its chunks wrote; asserts no run is left open.
async fn outcome(url: &str) -> (String, i64) {
    let mut conn = Conn::new(Opts::from_url(url).unwrap()).await.unwrap();
    let open: i64 = conn.query_first("SELECT COUNT(*) FROM wp_woosync_runs WHERE state IN ('running','interrupted')").await.unwrap().unwrap();
    assert_eq!(open, 0, "a run was left unfinished");
    (common::logical(&mut conn).await, common::written_by_last_run(&mut conn).await.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_run_stops_it_cleanly_and_the_run_resumes_or_reconnects() {
    let mut server = Server::install();
    server.start().await;
    let mut admin = Conn::new(Opts::from_url(&server.url()).unwrap()).await.unwrap();
    admin.query_drop("CREATE DATABASE template CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci").await.unwrap();
    let mut conn = Conn::new(Opts::from_url(&format!("{}/template", server.url())).unwrap()).await.unwrap();
    fixture::provision(&mut conn, "wp_").await.unwrap();
    fixture::insert_bulk(&mut conn, "wp_", &specs(), 100).await.unwrap();
    fixture::recount(&mut conn, "wp_").await.unwrap();
    drop(conn);
    let work: PathBuf = server.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("feed.csv"), feed()).unwrap();
    std::fs::write(work.join("woosync.toml"), format!("[database]\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n{CONFIG}")).unwrap();

    // The reference: one uninterrupted run.
    let (_, reference) = common::copy_of(&server.url(), "template", &mut admin, "reference").await;
    assert!(woosync(&work, &reference, "sync").stdout(Stdio::null()).status().unwrap().success());
    let (expected, expected_written) = outcome(&reference).await;
    assert!(expected_written >= PRODUCTS as i64, "every product changes: {expected_written}");

    // Down for good: the run gives up with the database exit code and says how to continue.
    let (_, url) = common::copy_of(&server.url(), "template", &mut admin, "down").await;
    let (_, quick) = common::copy_of(&server.url(), "template", &mut admin, "quick").await;
    drop(admin);
    let run = woosync(&work, &url, "sync").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_chunks(&url, 3).await;
    server.kill();
    let started = Instant::now();
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "exit code of a run whose server died: {stderr}");
    assert!(stderr.contains("woosync resume"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "gave up only after {:?}", started.elapsed());
    server.start().await;
    let resumed = woosync(&work, &url, "resume").output().unwrap();
    assert!(resumed.status.success(), "resume after the restart: {}", String::from_utf8_lossy(&resumed.stderr));
    let (actual, written) = outcome(&url).await;
    common::assert_same(&expected, &actual, "resumed after the server died");
    assert_eq!(written, expected_written, "products written over the run's chunks (applied twice or lost)");

    // Back within seconds: the run reconnects, takes its lock again and finishes by itself.
    let run = woosync(&work, &quick, "sync").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_chunks(&quick, 3).await;
    server.kill();
    server.start().await;
    let mut conn = Conn::new(Opts::from_url(&quick).unwrap()).await.unwrap();
    let before: i64 = conn.query_first("SELECT COUNT(*) FROM wp_woosync_chunks").await.unwrap().unwrap();
    drop(conn);
    // Two more chunks: the lock is checked, and taken again, before each one.
    wait_for_chunks(&quick, before + 2).await;
    let second = woosync(&work, &quick, "sync").output().unwrap();
    assert_eq!(second.status.code(), Some(5), "a second run while the first one goes on: {}", String::from_utf8_lossy(&second.stderr));
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the run should reconnect and finish: {stderr}");
    assert!(stderr.contains("reconnecting"), "the reconnect is logged: {stderr}");
    let (actual, written) = outcome(&quick).await;
    common::assert_same(&expected, &actual, "reconnected after a quick restart");
    assert_eq!(written, expected_written, "products written over the run's chunks (applied twice or lost)");
}
