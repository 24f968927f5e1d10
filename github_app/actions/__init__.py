"""What Countersign does on GitHub and in the ledger once the core has decided."""
