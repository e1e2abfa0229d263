"""The `certreg` command line: the one front door to every job."""
