//! The figures of a run, and how they are printed.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::metrics::ServerFigures;
use super::server::ThreadUsage;
use super::stats::{Method, Summary, Tally};

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: SocketAddr,
    /// Nodes the connections went round (the first is `target`).
    pub nodes: usize,
    /// How long the first node's appends took to show on the second, when probed.
    pub lag: Option<super::lag::LagReport>,
    pub spawned: bool,
    pub clients: usize,
    pub connections: usize,
    pub warmup: Duration,
    pub tally: Tally,
    pub server: ServerReport,
    /// CPU the load generator itself used in the measured window.
    pub client_cpu: Option<Duration>,
    /// CPU the whole machine used in the measured window, every process together.
    pub machine_busy: Option<Duration>,
}

/// What the server's process and metrics say; each part only when it could be read.
#[derive(Debug, Clone, Default)]
pub struct ServerReport {
    pub pid: Option<u32>,
    pub peak_rss_kib: Option<u64>,
    pub cpu: Option<Duration>,
    /// Bytes the server wrote to storage in the window.
    pub disk_writes: Option<u64>,
    pub figures: Option<ServerFigures>,
    /// CPU by thread name, busiest first.
    pub threads: Vec<ThreadUsage>,
    /// The server's own mean time per method.
    pub means: Vec<(Method, Duration)>,
}

impl Report {
    pub fn window(&self) -> Duration {
        self.tally.window()
    }

    /// Durably appended events per second of the measured window.
    pub fn events_per_second(&self) -> f64 {
        per_second(self.tally.events(), self.window())
    }

    /// The latency summary of every write (FileComplaint and AppendEvents together).
    pub fn writes(&self) -> Option<Summary> {
        self.tally.summary_where(Method::is_write)
    }
}

fn per_second(count: u64, window: Duration) -> f64 {
    if window.is_zero() {
        0.0
    } else {
        count as f64 / window.as_secs_f64()
    }
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn cores(cpu: Duration, window: Duration) -> String {
    if window.is_zero() {
        return "-".to_owned();
    }
    format!("{:.2} cores", cpu.as_secs_f64() / window.as_secs_f64())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let window = self.window();
        writeln!(
            f,
            "complaintflow loadtest: {} clients on {} connection{} to {}{}, {:.1} s measured after a {:.1} s warm-up",
            self.clients,
            self.connections,
            if self.connections == 1 { "" } else { "s" },
            self.target,
            match (self.spawned, self.nodes) {
                (true, _) => " (spawned server)".to_owned(),
                (false, 0 | 1) => String::new(),
                (false, nodes) => format!(
                    " and {} more node{}",
                    nodes - 1,
                    if nodes == 2 { "" } else { "s" }
                ),
            },
            window.as_secs_f64(),
            self.warmup.as_secs_f64(),
        )?;
        writeln!(
            f,
            "events durably appended: {} ({:.0} events/s)",
            self.tally.events(),
            self.events_per_second()
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<22} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "method", "requests", "req/s", "p50", "p99", "max"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, summary: Option<Summary>| match summary {
            Some(s) => writeln!(
                f,
                "{:<22} {:>10} {:>10.0} {:>10} {:>10} {:>10}",
                name,
                s.count,
                per_second(s.count, window),
                millis(s.p50),
                millis(s.p99),
                millis(s.max)
            ),
            None => Ok(()),
        };
        for method in Method::ALL {
            row(f, method.name(), self.tally.summary(method))?;
        }
        row(f, "writes (all)", self.writes())?;
        row(f, "all requests", self.tally.summary_where(|_| true))?;
        writeln!(f)?;

        if self.tally.errors().is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            writeln!(f, "errors:")?;
            for ((method, code), count) in self.tally.errors() {
                writeln!(f, "  {:<22} {:<18} {:>8}", method.name(), code, count)?;
            }
        }
        writeln!(f)?;
        if let Some(lag) = &self.lag {
            write!(f, "{lag}")?;
            writeln!(f)?;
        }
        self.fmt_server(f, window)
    }
}

impl Report {
    fn fmt_server(&self, f: &mut fmt::Formatter<'_>, window: Duration) -> fmt::Result {
        let server = &self.server;
        match server.pid {
            Some(pid) => write!(f, "server (pid {pid}):")?,
            None => write!(f, "server: (no --server-pid: process figures unknown)")?,
        }
        if let Some(kib) = server.peak_rss_kib {
            write!(f, " peak memory {:.1} MiB (VmHWM)", kib as f64 / 1024.0)?;
        }
        if let Some(cpu) = server.cpu {
            write!(f, ", CPU {}", cores(cpu, window))?;
            // Unlike events/s, this holds when other processes take cores from the server.
            if !cpu.is_zero() {
                let per_cpu_second = self.tally.events() as f64 / cpu.as_secs_f64();
                write!(f, ", {per_cpu_second:.0} events per CPU-second")?;
            }
        }
        writeln!(f)?;
        if let Some(bytes) = server.disk_writes {
            let events = self.tally.events().max(1) as f64;
            writeln!(
                f,
                "  disk writes: {:.1} MiB/s, {:.0} bytes per event",
                bytes as f64 / 1_048_576.0 / window.as_secs_f64().max(f64::EPSILON),
                bytes as f64 / events
            )?;
        }
        if let Some(figures) = server.figures {
            writeln!(
                f,
                "  group commit: {:.0} commits/s, {:.1} events/commit, mean commit (apply + fsync) {}",
                figures.commits / window.as_secs_f64().max(f64::EPSILON),
                figures.events_per_commit(),
                millis(figures.mean_commit())
            )?;
        }
        if !server.means.is_empty() {
            let means: Vec<String> = server
                .means
                .iter()
                .map(|(method, mean)| format!("{method} {}", millis(*mean)))
                .collect();
            writeln!(f, "  server time per call (mean): {}", means.join(", "))?;
        }
        if !server.threads.is_empty() {
            writeln!(
                f,
                "  threads (CPU, and time runnable but waiting for a core):"
            )?;
            for usage in server.threads.iter().filter(|u| !u.cpu.is_zero()) {
                writeln!(
                    f,
                    "    {:<20} x{:<3} {:>11} {:>11} waiting",
                    usage.name,
                    usage.threads,
                    cores(usage.cpu, window),
                    cores(usage.waited, window)
                )?;
            }
        }
        if let Some(cpu) = self.client_cpu {
            writeln!(f, "load generator CPU: {}", cores(cpu, window))?;
        }
        if let Some(busy) = self.machine_busy {
            let ours = self.client_cpu.unwrap_or_default() + server.cpu.unwrap_or_default();
            writeln!(
                f,
                "machine: {} busy, of which other processes {}",
                cores(busy, window),
                cores(busy.saturating_sub(ours), window)
            )?;
        }
        Ok(())
    }
}
