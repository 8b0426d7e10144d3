"""Upstream simulator: a real HTTP server speaking vLLM / Ollama / llama.cpp wire formats.

Tests script it through the /_sim/ control API (see control.py and README.md here).
"""
