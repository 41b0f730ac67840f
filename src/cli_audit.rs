//! `kokuho audit …`: checkpoints, proofs and their verification, as auditors take them away
//! (ARCHITECTURE.md, "Merkle tree and checkpoints"). A module of the binary: the arguments and
//! what each subcommand does.

use super::*;

/// `kokuho audit …`: what auditors take away and check (ARCHITECTURE.md, "Merkle tree and
/// checkpoints").
#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Publish (sign and keep) a checkpoint of the ledger as it is now, unless one of this size
    /// exists; print it and write it to a file an auditor can take away.
    Checkpoint {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
        /// Write the signed note here (default: print it only).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the checkpoints' verifier key (`<origin>+<key id>+<base64 key>`) for a tenant: what the
    /// municipality publishes for auditors.
    PublicKey {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
    },
    /// Write a proof as JSON: the inclusion of an event (--position or --event-id) in the tree of
    /// --tree-size events, or the consistency of the tree of --to events with the one of --from.
    Prove {
        /// The municipality (6-digit local government code, e.g. 112020).
        #[arg(long)]
        tenant: TenantCode,
        /// Inclusion: the event's position in the ledger (default: give --event-id instead).
        #[arg(long, conflicts_with_all = ["event_id", "from"])]
        position: Option<i64>,
        /// Inclusion: the event's id (default: give --position instead).
        #[arg(long, conflicts_with = "from")]
        event_id: Option<uuid::Uuid>,
        /// The checkpoint's tree size the inclusion proof is for (default: the latest published).
        #[arg(long)]
        tree_size: Option<u64>,
        /// Consistency: the earlier checkpoint's tree size (default: an inclusion proof instead).
        #[arg(long)]
        from: Option<u64>,
        /// Consistency: the later checkpoint's tree size (default: the latest published).
        #[arg(long, requires = "from")]
        to: Option<u64>,
        /// Write the proof here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a checkpoint and proofs offline (no database): exit 0 if every check holds, 1 naming
    /// the first that does not.
    Verify {
        /// The verifier key (`<origin>+<key id>+<base64 key>`), or a file holding it.
        #[arg(long)]
        public_key: String,
        /// The signed checkpoint (a file).
        #[arg(long)]
        checkpoint: PathBuf,
        /// Inclusion proofs (JSON files) to check against the checkpoint.
        #[arg(long)]
        inclusion: Vec<PathBuf>,
        /// An earlier checkpoint the auditor kept (a file), checked with --consistency (default: no
        /// consistency check).
        #[arg(long, requires = "consistency")]
        old_checkpoint: Option<PathBuf>,
        /// The consistency proof (JSON file) from --old-checkpoint to --checkpoint (default: none).
        #[arg(long, requires = "old_checkpoint")]
        consistency: Option<PathBuf>,
    },
}

pub(crate) async fn audit(cli: &Cli, command: &AuditCommand) -> anyhow::Result<ExitCode> {
    use kokuho_audit::verify::{verify_consistency, verify_inclusion, ConsistencyProof, InclusionProof};
    use kokuho_audit::Checkpoint;
    let read = |path: &PathBuf| std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()));
    match command {
        AuditCommand::Verify { public_key, checkpoint, inclusion, old_checkpoint, consistency } => {
            // No database here: only the files the auditor holds and the public key.
            let key = match std::fs::read_to_string(public_key) {
                Ok(text) => text.trim().to_owned(),
                Err(_) => public_key.trim().to_owned(),
            };
            let verdict = (|| -> anyhow::Result<Vec<String>> {
                let mut lines = Vec::new();
                let current = Checkpoint::open(&read(checkpoint)?, &key).context("--checkpoint")?;
                lines.push(format!(
                    "checkpoint {}: {} events, root {}, signature valid",
                    current.origin,
                    current.size,
                    current.root_base64()
                ));
                if let (Some(old), Some(proof)) = (old_checkpoint, consistency) {
                    let old = Checkpoint::open(&read(old)?, &key).context("--old-checkpoint")?;
                    let proof: ConsistencyProof = serde_json::from_str(&read(proof)?)
                        .context("--consistency: not a consistency proof (JSON: old_size, new_size, path)")?;
                    verify_consistency(&old, &current, &proof).context("--consistency")?;
                    lines.push(format!(
                        "consistent: the ledger of {} events extends the one of {}",
                        current.size, old.size
                    ));
                }
                for path in inclusion {
                    let proof: InclusionProof = serde_json::from_str(&read(path)?).with_context(|| {
                        format!("{}: not an inclusion proof (JSON: tree_size, event, path)", path.display())
                    })?;
                    verify_inclusion(&current, &proof).with_context(|| path.display().to_string())?;
                    lines.push(format!(
                        "included: position {} ({} of {}), recorded {}",
                        proof.event.position,
                        proof.event.event_type,
                        proof.event.stream_id,
                        chrono::DateTime::from_timestamp_micros(proof.event.recorded_at_micros)
                            .map(|at| at.to_rfc3339())
                            .unwrap_or_default()
                    ));
                }
                Ok(lines)
            })();
            match verdict {
                Ok(lines) => {
                    for line in lines {
                        println!("{line}");
                    }
                    println!("OK");
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    println!("FAILED: {error:#}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::PublicKey { tenant } => {
            let config = config(cli, DEFAULT_DATABASE_URL, false);
            let key = config.checkpoint_key.load()?;
            println!("{}", key.verifier_key(&kokuho_audit::origin_for(&tenant.to_string())));
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { tenant, out } => {
            let config = config(cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(cli, &config).await?;
            let published = ledgerd.store.publish_checkpoint(*tenant, &ledgerd.checkpoint_key).await;
            ledgerd.shutdown().await;
            let published = published?;
            if let Some(out) = out {
                std::fs::write(out, &published.note).with_context(|| format!("writing {}", out.display()))?;
            }
            print!("{}", published.note);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prove { tenant, position, event_id, tree_size, from, to, out } => {
            let config = config(cli, DEFAULT_DATABASE_URL, false);
            let ledgerd = open(cli, &config).await?;
            let store = ledgerd.store.clone();
            let proof = async {
                let latest = || async {
                    anyhow::Ok(match store.published_checkpoint(*tenant, None).await? {
                        Some(checkpoint) => checkpoint.tree_size,
                        None => store.publish_checkpoint(*tenant, &ledgerd.checkpoint_key).await?.tree_size,
                    })
                };
                let ledger_size = store.tree_size(*tenant).await?;
                if let Some(from) = from {
                    let to = match to {
                        Some(to) => *to,
                        None => latest().await?,
                    };
                    anyhow::ensure!(to <= ledger_size, "--to must be at most the ledger's size ({ledger_size})");
                    anyhow::ensure!(*from <= to, "--from must be at most --to");
                    return Ok(serde_json::to_string_pretty(&store.consistency_proof(*tenant, *from, to).await?)?);
                }
                let tree_size = match tree_size {
                    Some(size) => *size,
                    None => latest().await?,
                };
                anyhow::ensure!(
                    (1..=ledger_size).contains(&tree_size),
                    "--tree-size must be from 1 to the ledger's size ({ledger_size})"
                );
                let position = match (position, event_id) {
                    (Some(position), _) => *position,
                    (None, Some(id)) => {
                        store.position_of(*tenant, *id).await?.context("--event-id names no event of this tenant")?
                    }
                    (None, None) => anyhow::bail!("give --position or --event-id (inclusion), or --from (consistency)"),
                };
                anyhow::ensure!(
                    position >= 1 && position as u64 <= tree_size,
                    "--position must be from 1 to the tree size ({tree_size})"
                );
                Ok(serde_json::to_string_pretty(&store.inclusion_proof(*tenant, position, tree_size).await?)?)
            }
            .await;
            ledgerd.shutdown().await;
            let proof = proof?;
            match out {
                Some(out) => std::fs::write(out, proof).with_context(|| format!("writing {}", out.display()))?,
                None => println!("{proof}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
