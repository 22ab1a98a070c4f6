"""Example model project for mlops.platform: a wine-cultivar classifier trained by one plain command."""
