"""Composition root: wires triage, directory and geodata together for the web app and the CLI."""
