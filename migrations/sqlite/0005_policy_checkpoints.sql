-- Policies (reactions such as the 70–74 re-decision) follow the ledger by position like
-- projections, each with its own checkpoint: the last position whose consequences were issued.
CREATE TABLE policy_checkpoints (
    tenant    TEXT    NOT NULL,
    policy    TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (tenant, policy)
);

-- Ledgers written before policies existed had their 70–74 shares re-decided by the commands
-- themselves: the policy starts after what they already hold, instead of reacting again to
-- the whole history at the first start.
INSERT INTO policy_checkpoints (tenant, policy, position)
SELECT t.code, 'elderly_share', COALESCE((SELECT MAX(e.position) FROM events e WHERE e.tenant = t.code), 0)
FROM tenants t;
