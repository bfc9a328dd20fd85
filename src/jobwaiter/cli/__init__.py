"""The command line: a thin edge over the library. Only this package decides exit codes."""
