# Shared fixtures (control plane, moto, the AWS organization) for the e2e and fault tests.
pytest_plugins = ["tests.fixtures"]
