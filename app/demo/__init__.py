"""Demo data: accounts for every role and data that later areas extend."""
