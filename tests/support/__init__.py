"""Test support: a fake GitHub, webhook payloads and signatures, shared fixtures."""
