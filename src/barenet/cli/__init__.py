"""The ``barenet`` command line: one module per subcommand."""
