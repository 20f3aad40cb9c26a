//! The `confab` binary as its own process, for what only a process shows: SIGKILL and SIGTERM.
//! The debug binary that `cargo nextest run --workspace` builds (or `CONFAB_BIN`).

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

pub struct ConfabProcess {
    child: Child,
    pub port: u16,
}

impl ConfabProcess {
    /// Starts the binary with these settings (on a free port) and waits until it answers.
    pub async fn start(settings: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let binary = std::env::var("CONFAB_BIN").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/confab").to_owned()
        });
        let child = Command::new(&binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("CLIENT_DIR", "/nonexistent")
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e} (cargo build -p confab-server)"));
        let process = Self { child, port };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("http://127.0.0.1:{port}{}", crate::paths::HEALTH))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the server process did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process dies at once, saving nothing more.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM: the process drains and exits.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Its exit status, if it exits within `wait`.
    pub async fn exited_within(&mut self, wait: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ConfabProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
