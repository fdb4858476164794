"""The hours rules (rules.md). One pure function per rule, registered with @rule(CODE)."""

from __future__ import annotations
