"""The Faust app and its agents: decode → call the core → emit, one batch at a time."""
