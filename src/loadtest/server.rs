//! A server the load generator starts itself (`--spawn-server`), and what `/proc` says
//! about a server process: CPU time and peak memory.

use complaintflow_server::node::DataDir;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const READY_LINE: &str = "complaintflow listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// `/proc/<pid>/stat` counts in USER_HZ, which the kernel fixes at 100 for user space.
const TICKS_PER_SECOND: u64 = 100;

/// `complaintflow serve` on a loopback port, in a fresh directory that is removed when
/// this is dropped. The process is killed on drop too: its data is thrown away, so a
/// graceful stop would only cost time.
pub struct SpawnedServer {
    child: Child,
    dir: PathBuf,
    pub address: SocketAddr,
    pub metrics: SocketAddr,
    pub token: String,
}

impl SpawnedServer {
    /// Starts `binary serve` and waits until it listens.
    pub fn start(binary: &Path) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "complaintflow-loadtest-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = std::fs::File::create(dir.join("server.log"))
            .map_err(|e| format!("cannot create the server log: {e}"))?;
        let metrics = free_loopback_port()?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0", "--metrics-listen"])
            .arg(metrics.to_string())
            .arg("--no-http")
            // Request logging is not what is measured.
            .env("COMPLAINTFLOW_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's standard output was not piped")?;
        let mut server = Self {
            child,
            dir,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics,
            token: String::new(),
        };
        server.address = wait_until_listening(stdout).ok_or_else(|| {
            format!(
                "the server did not start; its log is in {}",
                server.dir.join("server.log").display()
            )
        })?;
        let token_path = DataDir::new(server.data_dir()).admin_token();
        let token = std::fs::read_to_string(&token_path)
            .map_err(|e| format!("cannot read {}: {e}", token_path.display()))?
            .trim()
            .to_owned();
        server.token = token;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// Reads stdout until the ready line, on a helper thread so that a server that neither
/// prints nor exits cannot hang the load generator. The thread then drains stdout until
/// the server exits, so that the pipe never fills.
fn wait_until_listening(stdout: ChildStdout) -> Option<SocketAddr> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(address) = line.trim().strip_prefix(READY_LINE)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(address.parse::<SocketAddr>().ok());
            }
        }
    });
    rx.recv_timeout(START_TIMEOUT).ok().flatten()
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_loopback_port() -> Result<SocketAddr, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// User plus system CPU time a process has used so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: count fields after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Field 14 (utime) and 15 (stime) of proc(5); the slice starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// The process's peak resident set size (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Bytes the process has caused to be written to storage so far (`write_bytes` of
/// `/proc/<pid>/io`): what the log, its indexes and sled's own bookkeeping cost the disk.
pub fn disk_writes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))?
        .trim()
        .parse()
        .ok()
}

/// CPU time and run-queue wait of one thread (`/proc/<pid>/task/<tid>/schedstat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadTimes {
    pub tid: u32,
    pub name: String,
    pub cpu: Duration,
    /// Time it was runnable but waited for a core: how much the machine was short of CPU.
    pub waited: Duration,
}

/// Every thread of the process, with its times so far.
pub fn thread_times(pid: u32) -> Vec<ThreadTimes> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm"))
                .ok()?
                .trim()
                .to_owned();
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            let mut fields = schedstat.split_whitespace().map(|f| f.parse::<u64>().ok());
            Some(ThreadTimes {
                tid,
                name,
                cpu: Duration::from_nanos(fields.next()??),
                waited: Duration::from_nanos(fields.next()??),
            })
        })
        .collect()
}

/// CPU used by the threads between two samples, summed by thread name (the tokio
/// workers share one name, as do sled's I/O threads), busiest first.
pub fn thread_usage(before: &[ThreadTimes], after: &[ThreadTimes]) -> Vec<ThreadUsage> {
    let mut by_name: Vec<ThreadUsage> = Vec::new();
    for thread in after {
        let earlier = before.iter().find(|t| t.tid == thread.tid);
        let cpu = thread
            .cpu
            .saturating_sub(earlier.map_or(Duration::ZERO, |t| t.cpu));
        let waited = thread
            .waited
            .saturating_sub(earlier.map_or(Duration::ZERO, |t| t.waited));
        let name = thread_kind(&thread.name);
        match by_name.iter_mut().find(|u| u.name == name) {
            Some(usage) => {
                usage.threads += 1;
                usage.cpu += cpu;
                usage.waited += waited;
            }
            None => by_name.push(ThreadUsage {
                name: name.to_owned(),
                threads: 1,
                cpu,
                waited,
            }),
        }
    }
    by_name.sort_by_key(|usage| std::cmp::Reverse(usage.cpu));
    by_name
}

/// Numbered threads of one pool (`sled-io-0`, `sled-io-1`, ...) are one kind.
fn thread_kind(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((kind, number))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            kind
        }
        _ => name,
    }
}

/// What the threads of one name used in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadUsage {
    pub name: String,
    pub threads: usize,
    pub cpu: Duration,
    pub waited: Duration,
}

/// Busy time of the whole machine so far, over all cores (`/proc/stat`), so that a
/// report can tell how much CPU other processes took from the measured ones.
pub fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy: u64 = fields.iter().take(8).sum::<u64>() - fields.get(3)? - fields.get(4)?;
    Some(Duration::from_millis(busy * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(tid: u32, name: &str, cpu_ms: u64) -> ThreadTimes {
        ThreadTimes {
            tid,
            name: name.to_owned(),
            cpu: Duration::from_millis(cpu_ms),
            waited: Duration::ZERO,
        }
    }

    #[test]
    fn thread_usage_is_the_difference_by_kind_busiest_first() {
        let before = [
            times(1, "sled-io-0", 100),
            times(2, "sled-io-1", 100),
            times(3, "writer", 0),
        ];
        let after = [
            times(1, "sled-io-0", 150),
            times(2, "sled-io-1", 130),
            times(3, "writer", 500),
            times(4, "new", 7),
        ];
        let usage = thread_usage(&before, &after);
        let summary: Vec<_> = usage
            .iter()
            .map(|u| (u.name.as_str(), u.threads, u.cpu.as_millis()))
            .collect();
        assert_eq!(
            summary,
            [("writer", 1, 500), ("sled-io", 2, 80), ("new", 1, 7)]
        );
        assert_eq!(thread_kind("tokio-rt-worker"), "tokio-rt-worker");
    }

    #[test]
    fn this_process_has_cpu_time_and_peak_memory() {
        let pid = std::process::id();
        assert!(cpu_time(pid).is_some());
        assert!(peak_rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(!thread_times(pid).is_empty());
        assert!(machine_busy().is_some());
        assert!(disk_writes(pid).is_some());
    }
}
