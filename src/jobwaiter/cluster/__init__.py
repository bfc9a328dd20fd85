"""Clusters: the config file, providers and the Cluster API."""
