"""The exam-board mark sheet's routes (PDF, CSV, XLSX)."""

from __future__ import annotations
