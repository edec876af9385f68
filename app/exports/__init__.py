"""Exports prepared off the request: large CSVs and ZIPs, built by a job, downloaded from
"My exports" by the person who asked for them, removed after seven days."""
