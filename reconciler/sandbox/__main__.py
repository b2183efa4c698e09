"""`python -m reconciler.sandbox`: the same as `reconciler sandbox`."""

from reconciler.cli.sandbox import command

if __name__ == "__main__":
    command()
