"""Backbone networks (slim style) used by the DeepLab-style models."""
