"""Sinks and notifiers at the edge: the database writer, the alert notifier, metrics exposition."""
