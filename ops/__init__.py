"""Operations tooling for the backend-on-eks stack: `python -m ops <command>`."""
