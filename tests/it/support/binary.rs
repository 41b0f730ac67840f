//! The real `kokuho` binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::TestDb;

/// The real `kokuho` binary, on the test's database and master key, run from its directory;
/// a test's throwaway ledger may be started by any command (`--create-database`).
pub fn kokuho(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kokuho"));
    command
        .current_dir(db.dir.path())
        .env("KOKUHO_CREATE_DATABASE", "true")
        .env("DATABASE_URL", &db.url)
        .env("KOKUHO_MASTER_KEY_FILE", db.key_file())
        .env_remove("KOKUHO_MASTER_KEY")
        .env("KOKUHO_CHECKPOINT_KEY_FILE", db.checkpoint_key_file())
        .env_remove("KOKUHO_CHECKPOINT_KEY")
        .env_remove("KOKUHO_RETENTION_RULES")
        .env("KOKUHO_LOG", "warn");
    command
}

/// Runs `command` to the end: (exit code, stdout, stderr).
pub fn output(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("kokuho runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `kokuho serve` on 127.0.0.1 port 0; killed when dropped.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:<port>`, as the server printed it.
    pub base: String,
}

impl Served {
    /// Sends SIGTERM and waits (bounded) for the server to exit; answers how it exited.
    pub async fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.kill().ok();
        panic!("kokuho serve did not stop on SIGTERM")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The operator's `/metrics` token the served binary is started with.
pub const METRICS_TOKEN: &str = "operator-metrics-token-for-tests";

/// Starts `kokuho serve` and waits for the line saying where it listens.
pub fn serve(db: &TestDb) -> Served {
    serve_with(db, &[])
}

/// [`serve`] with further arguments of `kokuho serve` (e.g. `--header-read-timeout 1`).
pub fn serve_with(db: &TestDb, arguments: &[&str]) -> Served {
    let mut child = kokuho(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("KOKUHO_METRICS_TOKEN", METRICS_TOKEN)
        .args(arguments)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kokuho serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = lines.next().expect("serve prints where it listens").expect("a line of text");
    // Keep draining what the server prints: a closed pipe would fail its next write.
    std::thread::spawn(move || lines.for_each(drop));
    let base = first.split_whitespace().last().expect("an address").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    Served { child, base }
}
