"""Review rules: the review case aggregate, stages and withholding grounds; no I/O."""
