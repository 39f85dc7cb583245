"""The demo's people and cases (``hoso demo``, ``hoso seed --demo``).

Every case is built by the services the pages and the apps call, in the order a real day
would call them: the citizen's booking, the courier's door-step pickup with its checklist and
both signatures, the hand-overs with their records, the desk's dossier codes and results, the
couriers' deliveries on verified proof. Nothing is written to the ledger around them, so the
demo obeys every rule a real case does and ``hoso ledger verify`` checks it like one.
"""
