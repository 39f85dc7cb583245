"""A post office's money desk, above the money ledger: the bank-line queue as one person may
see it (reach from core.access), and a whole day of money played through the services.

Kept out of ``core.money`` because both look at the rest of core (access, hand-overs), which
itself posts to the money ledger: inside ``core.money`` they would close an import circle.
"""
