// The policy engine: see the helper brief.
