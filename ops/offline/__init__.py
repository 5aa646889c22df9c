"""The Pulumi program evaluated offline: under Pulumi's mocks, with stand-ins for what AWS assigns.

Used by the tests, and by `python -m ops render` so anyone can see, without an AWS account or
the Pulumi CLI, the Kubernetes objects a stack would create.
"""
