"""Operations tooling for the backend-on-eks stack: `python -m ops <command>`."""

# Exit codes of every command: 0 all checks passed, 1 a check failed, 2 the command could not
# run as asked.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
