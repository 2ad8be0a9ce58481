"""The demo archive loaded by the README's run command."""
