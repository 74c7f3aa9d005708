//! Shared by the `byte_attack` bench and the hardening tests: every byte
//! attack found (commands of the test-only `hostile` and `raw` plugins),
//! and reading a process's memory figures.

/// Each tries to make the host hold or deliver more than the plugin's
/// budgets allow: 1,000 replies aliasing one 8 MiB string, one send whose
/// 1,000 button labels alias one, 32 replies and 40 sends of 16,000 bytes,
/// over-long labels, emoji and ids, a 10 MB reply, 1,000 replies, 1,000
/// sends.
pub const BYTE_ATTACKS: &[&str] = &[
    "/alias",
    "/aliassend",
    "/budget 32 16000",
    "/sendbudget 40 16000",
    "/biglabels",
    "/bigfields",
    "/bigid",
    "/bigmsg",
    "/flood",
    "/sendflood",
];

/// A memory figure of process `pid` (`self` when `None`) from
/// `/proc/<pid>/status`, such as `VmHWM:` (peak resident) or `VmRSS:`, in KiB.
pub fn status_kib(pid: Option<u32>, field: &str) -> anyhow::Result<u64> {
    use anyhow::Context;
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(&path)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in {path}"))
}
