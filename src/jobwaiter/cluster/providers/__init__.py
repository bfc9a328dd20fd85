"""Providers turn a cluster config into nodes, each reached through a transport."""

from jobwaiter.cluster.providers.base import Node, Provider, provider_for

__all__ = ["Node", "Provider", "provider_for"]
