"""The rules of the office: functions that take plain values and models, flush, never commit."""
