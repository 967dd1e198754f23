"""Contract fuzzing: the contract loaded from its file, hypothesis profiles, failing cases as curl lines, drift
between a served OpenAPI document and the contract file, and the safe-methods rule for production targets."""
