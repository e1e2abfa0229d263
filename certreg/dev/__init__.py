"""Development tooling: the synthetic consortium data set and the local consortium (issue 7)."""
