"""The bank side of the money: statements, signed notifications, matching, the queue."""
