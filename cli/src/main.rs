//! `walden`: the command-line tool of the Walden embedded database.
//!
//! Inspect (`stat`, `waldump`), query (`get`, `scan`, `count`), change
//! (`put`, `del`), load and unload (`import`, `export`), and maintain
//! (`checkpoint`, `verify`) a database file; `walden DB` alone opens an
//! interactive shell with the same commands. `walden --help` lists the
//! commands and the exit codes; `walden <command> --help` shows the options
//! with an example.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod archive;
mod codec;
mod commands;
mod error;
mod export;
mod import;
mod range;
mod shell;
mod stat;
mod waldump;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use walden::CheckpointMode;

use crate::commands::ScanFormat;
use crate::error::{CliError, EXIT_CODES_HELP};
use crate::range::RangeArgs;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "walden",
    version,
    about = "Inspect, query, load, check and dump Walden databases",
    long_about = "Inspect, query, load, check and dump Walden databases.\n\n\
                  A database is the file DB, its write-ahead log DB-wal and its shared wal-index \
                  DB-shm. Every command but `waldump` opens the database through the engine \
                  (recovering from the WAL if no other process has it open). Any number of \
                  processes may read it at once, beside one writer; a writing command waits up to \
                  --timeout for another process's write transaction.\n\n\
                  `walden DB` with no command opens an interactive shell on DB: the same commands \
                  without the DB argument, line editing and history, `.help`, `.timeout`, `.quit`.",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Seconds to wait for another connection (the write lock, readers a
    /// checkpoint needs, a process recovering the database) before exit code 4
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 5.0, value_parser = parse_timeout)]
    timeout: f64,
    /// Database file to open an interactive shell on (when no command is given)
    #[arg(value_name = "DB")]
    shell_db: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// `--timeout`: a number of seconds from 0 to one day.
pub fn parse_timeout(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.0..=86_400.0).contains(&t) => Ok(t),
        _ => Err(format!("{s:?} is not a number of seconds from 0 to 86400")),
    }
}

/// `--mode`: the engine's checkpoint modes, by name.
fn checkpoint_mode_parser() -> impl clap::builder::TypedValueParser<Value = CheckpointMode> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let help = |m: CheckpointMode| match m {
        CheckpointMode::Passive => "Copy what can be copied without waiting",
        CheckpointMode::Full => "Copy every frame",
        CheckpointMode::Restart => "Full, then restart the WAL from its beginning",
        CheckpointMode::Truncate => "Restart, then truncate the WAL file to zero bytes",
    };
    PossibleValuesParser::new(CheckpointMode::ALL.map(|m| PossibleValue::new(m.name()).help(help(m))))
        .try_map(|s| s.parse::<CheckpointMode>())
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the header, WAL state and tables (with entry counts) of a database
    #[command(after_help = "Examples:\n  walden stat sensors.db\n  walden stat sensors.db --json")]
    Stat(StatArgs),
    /// Print the number of entries of a table, a prefix or a range
    #[command(after_help = "Examples:\n  walden count flights.db --table flights\n  \
                            walden count flights.db --table flights --prefix '2013-06-01T1'\n\n\
                            Counts the cells of the leaf pages without reading the entries (as \
                            sqlite3's count(*)); prints the number alone.")]
    Count(CountArgs),
    /// Print the value of a key
    #[command(after_help = "Examples:\n  walden get sensors.db --table weather 'EWR 2013-01-01T06'\n  \
                            walden get sensors.db --hex 00ff10\n\n\
                            Exit code 1 when the key or the table does not exist.")]
    Get(GetArgs),
    /// Insert or replace a key (creates the database and the table if missing)
    #[command(after_help = "Examples:\n  walden put sensors.db --table weather 'EWR 2013-01-01T06' 39.02\n  \
                            walden put sensors.db config < config.json     # value from stdin\n  \
                            printf 'a\\t1\\nb\\t2\\n' | walden put sensors.db --lines   # many, one commit\n\n\
                            --lines reads KEY<TAB>VALUE lines from stdin (key and value in hex with --hex): \
                            the key is the bytes before the first TAB, the value every byte after it up to \
                            the newline, stored as given (no unescaping); all in one transaction.")]
    Put(PutArgs),
    /// Delete a key, or every key of a prefix or a range (in one transaction)
    #[command(after_help = "Examples:\n  walden del sensors.db --table weather 'EWR 2013-01-01T06'\n  \
                            walden del sensors.db --table weather --prefix 'EWR 2013-01'\n  \
                            walden del sensors.db --from a --to m\n\n\
                            Exit code 1 when the key or the table does not exist. A range may be empty: \
                            the command then deletes nothing and succeeds.")]
    Del(DelArgs),
    /// Print the entries of a key range in key order: `KEY<TAB>VALUE` lines, JSON lines or CSV
    #[command(
        after_help = "Examples:\n  walden scan sensors.db --table weather --prefix 'EWR 2013-01-01' --limit 24\n  \
                            walden scan sensors.db --from a --to b --reverse\n  \
                            walden scan sensors.db --hex --keys-only\n  \
                            walden scan sensors.db --json        # {\"key\":..,\"value\":..} per line\n  \
                            walden scan sensors.db --format csv"
    )]
    Scan(ScanArgs),
    /// Load a CSV file (optionally gzip-compressed), one key per row, one commit per batch
    #[command(
        after_help = "Example:\n  walden import flights.db flights.csv.gz --key time_hour,carrier,flight --table flights\n\n\
                            The key of a row is its key columns joined by --key-sep; the value is the other \
                            columns as a CSV record. The column list is kept in the table `_walden_schema` so \
                            that `walden export` can write the original columns back. A progress bar is shown \
                            when stderr is a terminal; a summary line is printed on stdout."
    )]
    Import(import::ImportArgs),
    /// Write a table (or a prefix or a range of it) as CSV or JSON lines
    #[command(after_help = "Examples:\n  walden export flights.db --table flights > flights.csv\n  \
                            walden export sensors.db --format jsonl --output sensors.jsonl\n  \
                            walden export flights.db --table flights --prefix 2013-06 > june.csv\n\n\
                            A table loaded by `walden import` is written with its original columns; any \
                            other table (or --raw) as `key,value` (JSON lines: {\"key\":..,\"value\":..}).")]
    Export(export::ExportArgs),
    /// Copy WAL frames into the database file
    #[command(after_help = "Example:\n  walden checkpoint sensors.db --mode truncate\n\n\
                            Modes (SQLite's): passive copies what it can without waiting; full copies every \
                            frame; restart also makes the next commit start the WAL over; truncate also \
                            truncates the WAL file to zero bytes.")]
    Checkpoint(CheckpointArgs),
    /// Check the integrity of every tree, overflow chain and the freelist
    #[command(after_help = "Example:\n  walden verify sensors.db && echo clean\n\n\
                            Exit code 0 when the database is clean, 5 with a report when it is damaged.")]
    Verify(VerifyArgs),
    /// Print the frames of the WAL (DB-wal), like PostgreSQL's pg_waldump
    #[command(after_help = "Examples:\n  walden waldump sensors.db\n  walden waldump sensors.db --stats\n  \
                            walden waldump sensors.db --page 1 --limit 10\n  \
                            walden waldump sensors.db --start 0/00000010 --end 0/00000020\n  \
                            walden waldump sensors.db --follow      # wait for new frames, as tail -f\n\n\
                            Reads DB-wal directly, without opening the database (so it works while another \
                            process has it open, and on a database the engine refuses). One line per frame: \
                            LSN (checkpoint sequence/frame), frame index, page number, page type, commit marker \
                            and database size, salts, the frame checksum and the page checksum. The dump stops \
                            at the first frame recovery would not accept, and says why. Exit code 0 when the \
                            log ends at the end of the file or at a frame of an earlier WAL generation, 5 when it \
                            stops at an invalid frame (torn, damaged, or left over from an aborted transaction) \
                            or the header is invalid.")]
    Waldump(waldump::WaldumpArgs),
    /// Ship the WAL to an archive continuously (`walden archive ls URL`: list an archive)
    #[command(after_help = "Examples:\n  walden archive sensors.db file:///backup/sensors\n  \
                            walden archive sensors.db file:///backup/sensors --once --snapshot\n  \
                            walden archive ls file:///backup/sensors\n  \
                            walden archive retain file:///backup/sensors --keep 7 --max-age 604800\n\n\
                            Ships each commit as part of an immutable segment object, holds the WAL until \
                            its frames are shipped (writers see the lag in `walden stat`), takes a snapshot \
                            at the start and after a gap (the WAL restarted while no archiver ran), and says \
                            so on stderr. One archiver per database at a time. URLs: file:///ABSOLUTE/DIR.")]
    Archive(archive::ArchiveArgs),
    /// Restore a database from an archive, to its latest commit, an LSN or a time
    #[command(after_help = "Examples:\n  walden restore file:///backup/sensors restored.db\n  \
                            walden restore file:///backup/sensors at-noon.db --time 2026-11-30T12:00:00Z\n  \
                            walden restore file:///backup/sensors before.db --lsn 2/0000001A\n\n\
                            Starts from the newest snapshot at or before the target and applies the \
                            archived commits up to it, verifying every object and the result. Archiving the \
                            restored copy starts a new timeline. Exit code 1 when the target is not in the \
                            archive (before its first snapshot, in a gap, past its end), 5 when an object \
                            is damaged.")]
    Restore(archive::RestoreArgs),
    /// Follow an archive into a read replica (a database of its own, readable meanwhile)
    #[command(after_help = "Examples:\n  walden replica file:///backup/sensors replica.db\n  \
                            walden replica file:///backup/sensors replica.db --once\n\n\
                            Restores the replica if it does not exist, then applies each archived commit \
                            as one commit of its own; other processes read it with every other command. \
                            Do not write to a replica.")]
    Replica(archive::ReplicaArgs),
}

/// `--table T`: a named table instead of the default one.
#[derive(Args, Debug, Clone)]
pub struct TableArg {
    /// Named table (default: the default, unnamed table)
    #[arg(long, short = 't', value_name = "T")]
    pub table: Option<String>,
}

/// `walden stat`.
#[derive(Args, Debug)]
pub struct StatArgs {
    /// Database file
    pub db: PathBuf,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// `walden count`.
#[derive(Args, Debug)]
pub struct CountArgs {
    /// Database file
    pub db: PathBuf,
    #[command(flatten)]
    pub table: TableArg,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Range arguments in hex
    #[arg(long)]
    pub hex: bool,
}

/// `walden get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// Database file
    pub db: PathBuf,
    #[command(flatten)]
    pub table: TableArg,
    /// Key (text, or hex with --hex)
    pub key: String,
    /// Key and value in hex
    #[arg(long)]
    pub hex: bool,
    /// Write the value's exact bytes, without escaping or a newline
    #[arg(long, conflicts_with = "hex")]
    pub raw: bool,
}

/// `walden put`.
#[derive(Args, Debug)]
pub struct PutArgs {
    /// Database file (created if missing)
    pub db: PathBuf,
    #[command(flatten)]
    pub table: TableArg,
    /// Key (text, or hex with --hex)
    #[arg(required_unless_present = "lines", conflicts_with = "lines")]
    pub key: Option<String>,
    /// Value (text, or hex with --hex); read from stdin when omitted
    pub value: Option<String>,
    /// Key and value in hex
    #[arg(long)]
    pub hex: bool,
    /// Read KEY<TAB>VALUE lines from stdin and put them all in one transaction
    #[arg(long)]
    pub lines: bool,
}

/// `walden del`.
#[derive(Args, Debug)]
pub struct DelArgs {
    /// Database file
    pub db: PathBuf,
    #[command(flatten)]
    pub table: TableArg,
    /// Key (text, or hex with --hex)
    #[arg(required_unless_present_any = ["from", "to", "prefix"], conflicts_with_all = ["from", "to", "prefix"])]
    pub key: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Key (or range arguments) in hex
    #[arg(long)]
    pub hex: bool,
}

/// `walden scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Database file
    pub db: PathBuf,
    #[command(flatten)]
    pub table: TableArg,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Descending key order
    #[arg(long)]
    pub reverse: bool,
    /// At most N entries
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Print keys only
    #[arg(long)]
    pub keys_only: bool,
    /// Keys and values in hex (arguments too)
    #[arg(long)]
    pub hex: bool,
    /// Output format (JSON and CSV need UTF-8 keys and values, or --hex)
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Same as --format jsonl
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// `walden checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// Database file
    pub db: PathBuf,
    /// How much to do
    #[arg(long, value_parser = checkpoint_mode_parser(), default_value = "passive")]
    pub mode: CheckpointMode,
}

/// `walden verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Database file
    pub db: PathBuf,
}

/// Runs one command.
pub fn run(command: Command) -> error::Result<()> {
    match command {
        Command::Stat(a) => stat::stat(&a),
        Command::Count(a) => commands::count(&a),
        Command::Get(a) => commands::get(&a),
        Command::Put(a) => commands::put(&a),
        Command::Del(a) => commands::del(&a),
        Command::Scan(a) => commands::scan(&a),
        Command::Import(a) => import::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Checkpoint(a) => commands::checkpoint(&a),
        Command::Verify(a) => commands::verify(&a),
        Command::Waldump(a) => waldump::run(&a),
        Command::Archive(a) => archive::archive(&a),
        Command::Restore(a) => archive::restore(&a),
        Command::Replica(a) => archive::replica(&a),
    }
}

/// A command-line error of clap as the one documented line: its message
/// (the first paragraph, joined), then the usage line.
pub fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut paras = text.split("\n\n");
    let first = paras.next().unwrap_or_default();
    let mut msg: String = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(rest) = msg.strip_prefix("error: ") {
        msg = rest.to_string();
    }
    if let Some(usage) = paras.find_map(|p| p.trim().strip_prefix("Usage: ")) {
        msg.push_str(&format!(" (usage: {})", usage.lines().next().unwrap_or_default().trim()));
    }
    msg
}

/// Prints an error as the documented line on stderr.
pub fn report(e: &CliError) {
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "walden: error: {e}");
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                let _ = e.print();
                return ExitCode::from(error::OK);
            }
            _ => {
                report(&CliError::new(error::USAGE, usage_line(&e)));
                return ExitCode::from(error::USAGE);
            }
        },
    };
    commands::set_timeout(std::time::Duration::from_secs_f64(cli.timeout));
    let r = match (cli.command, cli.shell_db) {
        (Some(_), Some(db)) => Err(CliError::new(
            error::USAGE,
            format!(
                "{}: the database goes after the command (walden COMMAND DB ...); alone, it opens a shell",
                db.display()
            ),
        )),
        (Some(command), None) => run(command),
        (None, Some(db)) if !db.exists() && !db.to_string_lossy().contains(['.', '/']) => Err(CliError::new(
            error::USAGE,
            format!(
                "unrecognized command {:?} (walden --help lists them; for a shell on a new database of that name, write ./{})",
                db.display().to_string(),
                db.display()
            ),
        )),
        (None, Some(db)) => shell::run(&db),
        (None, None) => Err(CliError::new(
            error::USAGE,
            "no command and no database: `walden DB` opens a shell on DB, `walden --help` lists the commands",
        )),
    };
    match r {
        Ok(()) => ExitCode::from(error::OK),
        Err(e) if e.broken_pipe => ExitCode::from(error::OK),
        Err(e) if e.reported => ExitCode::from(e.code),
        Err(e) => {
            report(&e);
            ExitCode::from(e.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
