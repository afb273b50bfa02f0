//! `gatehouse skill`: the skill author's toolkit for Python and JavaScript
//! skills (Rust skills are cargo crates: see `examples/email-outreach`).

use anyhow::{Result, bail};
use clap::Subcommand;
use gatehouse::Kind;
use gatehouse::lang::Lang;
use std::path::PathBuf;
use std::process::ExitCode;

/// Skill subcommands.
#[derive(Subcommand)]
pub enum SkillCommand {
    /// Scaffold a skill that builds and runs out of the box.
    New {
        /// The skill's name (lowercase letters, digits, `-`).
        name: String,
        /// The language: python or js.
        #[arg(long)]
        lang: String,
        /// Where to create it (default: ./<name>).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build the skill in a directory (Cargo.toml, app.py or app.js); print its blake3.
    Build {
        /// The skill's directory.
        dir: PathBuf,
    },
}

/// Run a skill command.
pub fn execute(command: SkillCommand) -> Result<ExitCode> {
    match command {
        SkillCommand::New { name, lang, dir } => {
            let lang = match Lang::parse(&lang) {
                Some(l @ (Lang::Python | Lang::Js)) => l,
                _ => bail!(
                    "`--lang {lang}`: use python or js (rust skills: see examples/email-outreach)"
                ),
            };
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            for f in gatehouse::lang::scaffold(&dir, &name, lang, Kind::Skill)? {
                println!("created {}", f.display());
            }
            println!("next: gatehouse skill build {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        SkillCommand::Build { dir } => {
            let built = match Lang::detect(&dir)? {
                Lang::Rust => gatehouse::build::build_crates(&[dir], None, None)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("nothing built"))?,
                lang => gatehouse::lang::build_guest(&dir, lang)?,
            };
            println!(
                "{}  {:>9} bytes  {}",
                built.hash.to_hex(),
                built.size,
                built.path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
