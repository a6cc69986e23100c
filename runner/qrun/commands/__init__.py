"""One module per ``qrun`` subcommand; see :mod:`qrun.cli` for the registry."""
