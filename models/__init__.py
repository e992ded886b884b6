"""The typed domain and the CP-SAT models. No file or network I/O lives here."""
