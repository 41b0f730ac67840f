-- Policies (reactions such as the 70–74 re-decision) follow the ledger by position like
-- projections, each with its own checkpoint: the last position whose consequences were issued.
CREATE TABLE policy_checkpoints (
    tenant    TEXT    NOT NULL,
    policy    TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (tenant, policy)
);
