//! Throwaway PostgreSQL clusters for tests and benchmarks.
//!
//! [`PgCluster::start`] runs `initdb` into a fresh temporary directory (owned by the
//! `postgres` system user when running as root: PostgreSQL refuses to run as root),
//! starts the server on a free loopback port with its socket in that directory, and
//! stops it and removes the directory when dropped, also when a test panics. With
//! `ISPEED_TEST_DATABASE_URL` set, it uses that server instead and never starts,
//! restarts or stops anything. Tests get a fresh database each ([`PgCluster::database`]),
//! dropped with its guard. Nothing here touches a cluster it did not create.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Directory of the PostgreSQL server binaries unless `ISPEED_PG_BIN` says otherwise:
/// Debian's `postgresql-15`.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Environment variable naming an existing server to test against.
pub const DATABASE_URL_ENV: &str = "ISPEED_TEST_DATABASE_URL";

/// A PostgreSQL server for tests: one this process started, or the one
/// [`DATABASE_URL_ENV`] names.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    /// The cluster's directory (data, socket, log); `None` for an external server.
    dir: Option<tempfile::TempDir>,
    port: u16,
    external: Option<String>,
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn run(bin: &Path, tool: &str, args: &[&str]) -> Result<Output, String> {
    let exe = bin.join(tool);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{tool} {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl PgCluster {
    /// The server of [`DATABASE_URL_ENV`] when set, or a new throwaway cluster; an
    /// error says why PostgreSQL cannot be had (binaries missing, initdb failed, ...).
    pub fn start() -> Result<Self, String> {
        let bin = std::env::var_os("ISPEED_PG_BIN")
            .map_or_else(|| PathBuf::from(DEFAULT_PG_BIN), PathBuf::from);
        if let Ok(url) = std::env::var(DATABASE_URL_ENV) {
            return Ok(Self {
                bin,
                dir: None,
                port: 0,
                external: Some(url),
            });
        }
        if !bin.join("initdb").exists() {
            return Err(format!(
                "PostgreSQL is not installed ({} has no initdb): install Debian's \
                 postgresql-15 (`cargo xtask test` does, as root) or set {DATABASE_URL_ENV}",
                bin.display()
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("ispeed-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| format!("cannot run chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "cannot give {} to the postgres user",
                    dir.path().display()
                ));
            }
        }
        let data = dir.path().join("data");
        let data_s = data.to_string_lossy().into_owned();
        run(
            &bin,
            "initdb",
            &[
                "-D",
                &data_s,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let mut cluster = Self {
            bin,
            dir: Some(dir),
            port: 0,
            external: None,
        };
        // The port may be taken between choosing and binding it: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn dir(&self) -> Result<&Path, String> {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .ok_or_else(|| format!("the server of {DATABASE_URL_ENV} is not ours to control"))
    }

    /// Stops the server (`pg_ctl stop -m fast`), to test what clients see while the
    /// database is down. Only for a cluster this process started.
    pub fn stop(&self) -> Result<(), String> {
        let data = self.dir()?.join("data");
        run(
            &self.bin,
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
        )
        .map(|_| ())
    }

    /// Starts a server [`PgCluster::stop`] stopped, on the same port.
    pub fn resume(&self) -> Result<(), String> {
        self.pg_ctl_start()
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let dir = self.dir()?;
        let opts = format!(
            "-k {} -p {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on",
            dir.display(),
            self.port
        );
        let (data, log) = (dir.join("data"), dir.join("log"));
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .map(|_| ())
    }

    /// Restarts the server with `pg_ctl restart -m MODE` (`fast`, or `immediate`: a
    /// crash, recovered from the write-ahead log on start). Only for a cluster this
    /// process started.
    pub fn restart(&self, mode: &str) -> Result<(), String> {
        let dir = self.dir()?;
        let opts = format!(
            "-k {} -p {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            dir.display(),
            self.port
        );
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &dir.join("data").to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &dir.join("log").to_string_lossy(),
                "-m",
                mode,
                "-w",
                "-t",
                "60",
                "restart",
            ],
        )
        .map(|_| ())
    }

    /// Process id of the server this process started (its postmaster), to measure
    /// the database's CPU.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let dir = self.dir.as_ref()?;
        std::fs::read_to_string(dir.path().join("data").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether this process started the server (and may restart it).
    pub fn is_throwaway(&self) -> bool {
        self.external.is_none()
    }

    /// URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        match &self.external {
            Some(url) => url.clone(),
            None => format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
        }
    }

    /// URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        let base = self.url();
        match base.rfind('/') {
            Some(i) if base[..i].contains('@') || base[..i].ends_with(char::is_numeric) => {
                let (head, tail) = base.split_at(i);
                let query = tail.find('?').map_or("", |q| &tail[q..]);
                format!("{head}/{name}{query}")
            }
            _ => format!("{base}/{name}"),
        }
    }

    /// A fresh, empty database on this server, dropped with the guard.
    pub fn database(&self, hint: &str) -> Result<TestDatabase, String> {
        let name = format!(
            "ispeed_{}_{}",
            hint.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(20)
                .collect::<String>(),
            uuid::Uuid::new_v4().simple()
        );
        self.psql(&format!("CREATE DATABASE {name}"))?;
        Ok(TestDatabase {
            url: self.url_of(&name),
            name,
            admin: self.url(),
            bin: self.bin.clone(),
        })
    }

    /// Runs one SQL command on the `postgres` database.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        psql(&self.bin, &self.url(), sql)
    }
}

/// Runs `sql` on `url` with psql, returning its unaligned output.
pub fn psql(bin: &Path, url: &str, sql: &str) -> Result<String, String> {
    let exe = if bin.join("psql").exists() {
        bin.join("psql")
    } else {
        PathBuf::from("psql")
    };
    let out = Command::new(&exe)
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let data = dir.path().join("data");
            let _ = run(
                &self.bin,
                "pg_ctl",
                &[
                    "-D",
                    &data.to_string_lossy(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
        // The TempDir removes the directory after this.
    }
}

/// A database created for one test, dropped with this guard.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin: String,
    bin: PathBuf,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.bin,
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Starts the `ispeed-collector` binary `bin` on a free loopback port over `database`,
/// counting unattested samples with no practical daily cap (a lab),
/// and returns the child with the URL it prints once listening (within 60 s). Its
/// later stderr lines go to `on_line`, and are drained either way so the child never
/// blocks on a full pipe.
pub fn start_collector_process(
    bin: &Path,
    database: &str,
    on_line: fn(&str),
) -> Result<(std::process::Child, String), String> {
    use std::io::BufRead;
    use std::process::Stdio;

    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--database", database])
        // Counting as a lab: the documents of load and fault tests carry no receipt,
        // and a few installs send thousands (docs/trust.md).
        .args(["--count-unattested", "--install-daily-cap", "1000000000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stderr = child.stderr.take().ok_or("the collector has no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stderr).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        for line in lines.map_while(Result::ok) {
            on_line(&line);
        }
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .map_err(|_| "the collector did not say where it listens within 60 s".to_owned())?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| format!("no URL in {line:?}"))?
        .to_owned();
    Ok((child, url))
}
