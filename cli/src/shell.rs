//! `walden DB`: an interactive shell on one database, as the sqlite3 shell.
//!
//! Each line is a command of the command line without the DB argument
//! (`get KEY --table T`, `scan --prefix P`, ...), split as a POSIX shell
//! splits words (quotes and backslashes, `shlex`), and run like
//! `walden COMMAND DB ...`: each command opens the database, runs and closes
//! it, so other processes can use it between commands. Dot commands:
//! `.help`, `.timeout [SECONDS]`, `.quit` (or `.exit`, or end of input).
//!
//! Line editing and history come from `rustyline`; the history is kept in
//! `$WALDEN_HISTORY`, else `~/.walden_history`, when stdin is a terminal.
//! When stdin is not a terminal (a script piped in) no prompt is printed,
//! and the shell's exit code is that of the last command that failed (0 if
//! none did), so that scripts can check it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::error::ErrorKind;
use clap::Parser;
use rustyline::error::ReadlineError;

use crate::commands::{set_timeout, timeout};
use crate::error::{CliError, Result, IO, OK, USAGE};
use crate::{report, usage_line, Command};

/// One line of the shell: a command, without the program name.
#[derive(Parser, Debug)]
#[command(name = "walden", no_binary_name = true, disable_version_flag = true)]
struct Line {
    #[command(subcommand)]
    command: Command,
}

const HELP: &str = "\
Commands (as on the command line, without the database argument):
  stat [--json]                       header, WAL state, every tree (depth, pages, fill)
  count [--prefix P | --from K --to K]
  get KEY                             scan [--prefix P | --from K --to K] [--limit N] [--json]
  put KEY VALUE                       del KEY | del --prefix P | del --from K --to K
  import FILE --key COLS              export [--format csv|jsonl] [--prefix P]
  checkpoint [--mode M]               verify
  waldump [--stats] [--limit N]
Most take --table T and --hex; COMMAND --help shows all options.
Dot commands:
  .help                               this text
  .timeout [SECONDS]                  show or set the busy timeout of the next commands
  .quit, .exit                        leave (so does end of input, Ctrl-D)";

/// The history file: `$WALDEN_HISTORY`, else `~/.walden_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WALDEN_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".walden_history"))
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// What a line asks of the shell.
enum Outcome {
    Continue,
    Quit,
}

/// Runs one line; an error is reported and remembered in `last`.
fn line(db: &Path, text: &str, last: &mut u8) -> Outcome {
    if let Some(dot) = text.strip_prefix('.') {
        let mut words = dot.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("quit" | "exit"), None, _) => return Outcome::Quit,
            (Some("help"), None, _) => print(HELP),
            (Some("timeout"), None, _) => print(&format!("{} s", timeout().as_secs_f64())),
            (Some("timeout"), Some(t), None) => match crate::parse_timeout(t) {
                Ok(t) => set_timeout(Duration::from_secs_f64(t)),
                Err(e) => fail(&CliError::new(USAGE, format!(".timeout: {e}")), last),
            },
            _ => fail(
                &CliError::new(USAGE, format!("unknown or malformed dot command .{dot}: see .help")),
                last,
            ),
        }
        return Outcome::Continue;
    }
    let Some(mut words) = shlex::split(text) else {
        fail(&CliError::new(USAGE, "unbalanced quotes in the line"), last);
        return Outcome::Continue;
    };
    // The database goes after the command name, as on the command line.
    let db_arg = db.to_string_lossy().into_owned();
    let takes_db = words.first().is_some_and(|w| !w.starts_with('-') && w != "help");
    if takes_db {
        words.insert(1, db_arg);
    }
    match Line::try_parse_from(words) {
        Ok(l) => match crate::run(l.command) {
            Ok(()) => {}
            Err(e) if e.broken_pipe => {}
            Err(e) => fail(&e, last),
        },
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
        }
        Err(e) => fail(&CliError::new(USAGE, usage_line(&e)), last),
    }
    Outcome::Continue
}

fn fail(e: &CliError, last: &mut u8) {
    report(e);
    *last = e.code;
}

/// `walden DB`: the shell, until `.quit` or the end of input.
pub fn run(db: &Path) -> Result<()> {
    let tty = std::io::stdin().is_terminal();
    let mut rl = rustyline::DefaultEditor::new().map_err(|e| CliError::new(IO, format!("cannot start the shell: {e}")))?;
    let history = if tty { history_path() } else { None };
    if let Some(h) = &history {
        // A missing history file is the normal first run.
        let _ = rl.load_history(h);
    }
    if tty {
        print(&format!(
            "walden {} shell on {}: .help for help, .quit or Ctrl-D to leave",
            env!("CARGO_PKG_VERSION"),
            db.display()
        ));
    }
    let prompt = if tty { "walden> " } else { "" };
    let mut last = OK;
    loop {
        match rl.readline(prompt) {
            Ok(text) => {
                let text = text.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                if tty {
                    let _ = rl.add_history_entry(text);
                }
                if let Outcome::Quit = line(db, text, &mut last) {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::new(IO, format!("<stdin>: {e}"))),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    if last == OK {
        Ok(())
    } else {
        // Already reported: exit with the code and no second message.
        Err(CliError::quiet(last))
    }
}
