//! A PostgreSQL + PostGIS cluster of our own, started from the system's PostgreSQL binaries.
//! Used by `burgernet dev` (a persistent data directory) and by the test harness (a throwaway
//! one). `initdb` refuses to run as root, so as root the cluster runs as the `postgres` system
//! user (or `nobody`).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::RngCore;

use burgernet_core::secret::Secret;

const SUPERUSER: &str = "burgernet";

/// How the cluster should behave.
#[derive(Debug, Clone)]
pub struct LocalPostgresOptions {
    /// Where the cluster keeps its files; created and initialised when missing.
    pub data_dir: PathBuf,
    /// Trade durability for speed (tests): no fsync, no synchronous commit.
    pub fast_and_unsafe: bool,
    /// Server settings on top of ours, such as `("shared_buffers", "1GB")`.
    pub settings: Vec<(String, String)>,
}

/// A running cluster. Stop it with [`LocalPostgres::stop`]; if the process that started it dies
/// first, the kernel kills the cluster too (parent-death signal), so nothing is left running.
pub struct LocalPostgres {
    port: u16,
    password: Secret<String>,
    data_dir: PathBuf,
    stop: Option<mpsc::Sender<mpsc::Sender<()>>>,
}

impl std::fmt::Debug for LocalPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPostgres").field("port", &self.port).field("data_dir", &self.data_dir).finish()
    }
}

struct ClusterUser {
    uid: u32,
    gid: u32,
}

impl LocalPostgres {
    /// Initialises the data directory if needed, starts the server on a free port and waits
    /// until it accepts connections.
    pub fn start(options: LocalPostgresOptions) -> anyhow::Result<Self> {
        Self::start_on_port(options, free_port()?)
    }

    /// Like [`LocalPostgres::start`], on a given port: to start a stopped cluster again where its
    /// clients expect it.
    pub fn start_on_port(options: LocalPostgresOptions, port: u16) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        let user = cluster_user()?;
        std::fs::create_dir_all(&options.data_dir)
            .with_context(|| format!("cannot create {}", options.data_dir.display()))?;
        let data_dir = options.data_dir.canonicalize()?;
        let cluster_dir = data_dir.join("cluster");
        let password_file = data_dir.join("superuser-password");

        if !cluster_dir.join("PG_VERSION").exists() {
            let password = random_password();
            std::fs::write(&password_file, password.expose())?;
            restrict_to(&password_file, &user)?;
            std::fs::create_dir_all(&cluster_dir)?;
            restrict_to(&cluster_dir, &user)?;
            restrict_to(&data_dir, &user)?;
            let output = as_cluster_user(Command::new(bin_dir.join("initdb")), &user)
                .arg("--pgdata")
                .arg(&cluster_dir)
                .args(["--username", SUPERUSER, "--encoding", "UTF8", "--locale", "C"])
                .args(["--auth-local", "peer", "--auth-host", "scram-sha-256"])
                .arg(format!("--pwfile={}", password_file.display()))
                .output()
                .context("cannot run initdb")?;
            if !output.status.success() {
                bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
            }
        }
        let password = Secret::new(std::fs::read_to_string(&password_file)?.trim().to_string());

        let mut command = as_cluster_user(Command::new(bin_dir.join("postgres")), &user);
        command
            .arg("-D")
            .arg(&cluster_dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", cluster_dir.display()))
            .args(["-c", "max_connections=300", "-c", "shared_buffers=64MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(data_dir.join("server.log"))?));
        if options.fast_and_unsafe {
            command.args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        for (name, value) in &options.settings {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec, after
        // the credential change (which would otherwise clear the setting).
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }

        // The parent-death signal fires when the spawning *thread* ends, so a dedicated thread
        // owns the server for its whole life.
        let (started_tx, started_rx) = mpsc::channel::<std::io::Result<()>>();
        let (stop_tx, stop_rx) = mpsc::channel::<mpsc::Sender<()>>();
        std::thread::Builder::new().name("local-postgres".into()).spawn(move || {
            let mut child: Child = match command.spawn() {
                Ok(child) => {
                    let _ = started_tx.send(Ok(()));
                    child
                }
                Err(error) => {
                    let _ = started_tx.send(Err(error));
                    return;
                }
            };
            // Park until asked to stop; if the process exits first, the kernel ends the server.
            if let Ok(done) = stop_rx.recv() {
                // SIGINT asks PostgreSQL for a fast shutdown: sessions end, data is flushed.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                let _ = child.wait();
                let _ = done.send(());
            }
        })?;
        started_rx.recv()?.context("cannot start postgres")?;

        let server = Self { port, password, data_dir, stop: Some(stop_tx) };
        server.wait_until_ready(&bin_dir)?;
        Ok(server)
    }

    fn wait_until_ready(&self, bin_dir: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(bin_dir.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", SUPERUSER, "-d", "postgres"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?
                .success();
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default();
                bail!("postgres did not become ready within 60s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` as the cluster's superuser.
    pub fn url(&self, database: &str) -> Secret<String> {
        Secret::new(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password.expose(),
            self.port
        ))
    }

    /// A connection URL for `database` as `role`, a login role created on this cluster with
    /// `password` (see `db::ensure_login_role`).
    pub fn url_as(&self, role: &str, password: &Secret<String>, database: &str) -> Secret<String> {
        Secret::new(format!("postgres://{role}:{}@127.0.0.1:{}/{database}", password.expose(), self.port))
    }

    /// Shuts the server down cleanly and waits for it.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let (done_tx, done_rx) = mpsc::channel();
            if stop.send(done_tx).is_ok() {
                let _ = done_rx.recv_timeout(Duration::from_secs(30));
            }
        }
    }
}

/// Hands a file or directory the caller made for the server (a TLS key, an `hba_file`) to the
/// account the cluster runs as, readable by it alone, as PostgreSQL requires of a key file.
pub fn hand_to_server(path: &Path) -> anyhow::Result<()> {
    restrict_to(path, &cluster_user()?)
}

/// The PostgreSQL server binaries: `BURGERNET_PG_BINDIR`, else `initdb` on the PATH, else the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu keep them there).
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BURGERNET_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file()
                && dir.join("postgres").is_file()
                && dir.join("pg_isready").is_file()
            {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).context(
        "no PostgreSQL server binaries found: install postgresql and postgis (scripts/install-deps), \
         or set BURGERNET_PG_BINDIR",
    )
}

/// Root may not run the server; pick an unprivileged account for it.
fn cluster_user() -> anyhow::Result<Option<ClusterUser>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 3 && fields[0] == wanted {
                return Ok(Some(ClusterUser { uid: fields[2].parse()?, gid: fields[3].parse()? }));
            }
        }
    }
    bail!("running as root and no unprivileged 'postgres' or 'nobody' account exists to run PostgreSQL")
}

fn as_cluster_user(mut command: Command, user: &Option<ClusterUser>) -> Command {
    if let Some(user) = user {
        command.uid(user.uid).gid(user.gid);
    }
    command
}

fn restrict_to(path: &Path, user: &Option<ClusterUser>) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(user) = user {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
            .with_context(|| format!("cannot hand {} to the postgres user", path.display()))?;
    }
    Ok(())
}

fn random_password() -> Secret<String> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
