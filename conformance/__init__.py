"""Conformance suite for the documented Qiskit Runtime session lifecycle."""
