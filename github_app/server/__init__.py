"""The HTTP shell: aiohttp application, health and metrics routes, setup/status page."""
