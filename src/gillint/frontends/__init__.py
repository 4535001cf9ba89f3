"""The ways in: the ``gillint`` command and the flake8 plugin (pre-commit runs the command)."""
