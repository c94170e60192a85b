"""Cryptography: field encryption, keys, passwords, card credentials."""
