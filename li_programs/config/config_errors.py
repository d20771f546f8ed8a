"""The error of a config file or command line that cannot be used."""


class ConfigError(ValueError):
  """A config file or command line that cannot be used; one-line message."""
