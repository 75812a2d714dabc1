"""Hooks modules loaded by name (TRANSCODER_HOOKS) in the tests."""
