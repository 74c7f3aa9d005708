//! The bot's recent log, kept in memory for the console's log page: the
//! last [`CAPACITY`] lines, as the log writes them (escaped, one line per
//! event), searchable and paged newest first.
//!
//! The CLI's log subscriber copies every line here ([`LogBook::global`]);
//! nothing else writes to it. A line longer than [`MAX_LINE`] bytes is
//! cut, so the book's memory stays bounded (at most about 10 MB).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

/// Lines kept.
pub const CAPACITY: usize = 5_000;
/// Longest line kept, in bytes.
pub const MAX_LINE: usize = 2_048;

/// How serious a line is, as the log writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl Level {
    /// The level named `name` (`error`, `warn`, `info`, `debug`, `trace`,
    /// in any case).
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name.to_ascii_uppercase().as_str() {
            "TRACE" => Level::Trace,
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARN" => Level::Warn,
            "ERROR" => Level::Error,
            _ => return None,
        })
    }

    /// Its name in lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its number since the bot started, from 1.
    pub number: u64,
    /// Its level, when the line names one.
    pub level: Option<Level>,
    /// The line as written, without its line break.
    pub text: String,
}

/// The recent log.
#[derive(Debug, Default)]
pub struct LogBook {
    lines: Mutex<(u64, VecDeque<LogLine>)>,
}

/// A page of lines, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// The lines.
    pub lines: Vec<LogLine>,
    /// Whether older lines match too.
    pub more: bool,
}

impl LogBook {
    /// The book the process's log writes to.
    pub fn global() -> &'static Arc<LogBook> {
        static BOOK: OnceLock<Arc<LogBook>> = OnceLock::new();
        BOOK.get_or_init(Arc::default)
    }

    /// Keeps `text` (one or more lines), forgetting the oldest beyond
    /// [`CAPACITY`].
    pub fn write(&self, text: &str) {
        let mut guard = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let (count, lines) = &mut *guard;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            *count += 1;
            let mut end = line.len().min(MAX_LINE);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            let level = line.split_whitespace().take(2).find_map(Level::parse);
            if lines.len() == CAPACITY {
                lines.pop_front();
            }
            lines.push_back(LogLine {
                number: *count,
                level,
                text: line[..end].to_owned(),
            });
        }
    }

    /// Up to `limit` lines at `level` or above whose text contains `query`
    /// (ignoring case), newest first, older than line number `before`
    /// (none: from the newest).
    pub fn search(
        &self,
        query: &str,
        level: Option<Level>,
        before: Option<u64>,
        limit: usize,
    ) -> LogPage {
        let query = query.to_lowercase();
        let guard = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let mut matching = guard
            .1
            .iter()
            .rev()
            .filter(|l| before.is_none_or(|b| l.number < b))
            .filter(|l| level.is_none_or(|min| l.level.is_some_and(|at| at >= min)))
            .filter(|l| query.is_empty() || l.text.to_lowercase().contains(&query));
        let lines: Vec<LogLine> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        LogPage { lines, more }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_keeps_the_newest_lines_and_finds_them_by_text_and_level() {
        let book = LogBook::default();
        for i in 0..CAPACITY + 10 {
            let level = if i % 10 == 0 { "WARN" } else { "INFO" };
            book.write(&format!(
                "2026-12-05T00:00:00Z  {level} event {i} plugin=\"notes\"\n"
            ));
        }
        let newest = book.search("", None, None, 3);
        let numbers: Vec<u64> = newest.lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [5010, 5009, 5008]);
        assert!(newest.more);
        let warned = book.search("", Some(Level::Warn), None, 1_000);
        assert!(warned.lines.iter().all(|l| l.level == Some(Level::Warn)));
        assert_eq!(warned.lines.len(), 500, "the first 10 lines are gone");
        let found = book.search("EVENT 4999 ", None, None, 10);
        assert_eq!(found.lines.len(), 1);
        assert!(!found.more);
        let older = book.search("", None, Some(11), 100);
        assert!(older.lines.is_empty(), "lines 1 to 10 are gone");
        let page = book.search("", None, Some(100), 5);
        assert_eq!(page.lines[0].number, 99);
    }

    #[test]
    fn a_long_line_is_cut_on_a_character_boundary() {
        let book = LogBook::default();
        book.write(&"é".repeat(MAX_LINE));
        let line = &book.search("", None, None, 1).lines[0];
        assert!(line.text.len() <= MAX_LINE && line.text.chars().all(|c| c == 'é'));
    }
}
