"""自评: the self-assessment of a bureau's disclosure work (pure)."""
