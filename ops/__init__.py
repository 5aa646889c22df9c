"""Operations tooling for the backend-on-eks stack: `python -m ops <command>`."""

# Exit codes of every command: 0 all checks passed, 1 a check failed, 2 the command could not
# run as asked.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# `ops verify` tells three failures apart, so a deploy can decide what to do about each: the stack
# is unhealthy (nodes, rollout, pods, image, load balancer targets: 1, as any failed check), its
# backend answered wrongly, or something could not be reached at all (nothing to judge by).
EXIT_UNHEALTHY, EXIT_WRONG_ANSWERS, EXIT_UNREACHABLE = EXIT_FAILED, 3, 4
