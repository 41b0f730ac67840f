//! `kokuho policies …`: list the policies, rewind one, or run them to the head once. A module of
//! the binary.

use super::*;

#[derive(Subcommand)]
pub(crate) enum PoliciesCommand {
    /// Each policy, what it does, and how far it has followed each tenant's ledger.
    List,
    /// React to every event not reacted to yet (what a serving process does continuously).
    /// With --from, react again from that position: consequences already issued are not
    /// issued twice (their idempotency keys derive from the triggering event).
    Run {
        /// Only this policy (default: all).
        #[arg(long)]
        policy: Option<String>,
        /// Only this tenant (default: all).
        #[arg(long)]
        tenant: Option<TenantCode>,
        /// Set the checkpoint back to this position first (0: from the first event) [default: go on
        /// from the checkpoint].
        #[arg(long)]
        from: Option<i64>,
    },
}

pub(crate) async fn policies(ledgerd: &Ledgerd, command: &PoliciesCommand) -> anyhow::Result<()> {
    match command {
        PoliciesCommand::List => {
            for name in ledgerd.policies.names() {
                println!("{name}");
            }
            for status in ledgerd.policies.status().await? {
                println!(
                    "  {} tenant {}: reacted up to position {} of {} (lag {}) — {}",
                    status.policy,
                    status.tenant,
                    status.checkpoint,
                    status.head,
                    status.head - status.checkpoint,
                    status.description
                );
            }
        }
        PoliciesCommand::Run { policy, tenant, from } => {
            let tenants = match tenant {
                Some(tenant) => vec![*tenant],
                None => ledgerd.store.tenants().await?,
            };
            for tenant in tenants {
                if let Some(from) = from {
                    ledgerd.policies.rewind(tenant, policy.as_deref(), *from).await?;
                }
                ledgerd.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
                let run = ledgerd.policies.catch_up_only(tenant, policy.as_deref()).await?;
                // The consequences are events too: show them in the projections at once.
                ledgerd.projector.catch_up(tenant).await.context("bringing the projections up to date")?;
                println!(
                    "tenant {tenant}: {} events read, {} consequences recorded",
                    run.events_read, run.commands_appended
                );
            }
        }
    }
    Ok(())
}
