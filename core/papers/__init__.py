"""Signed papers that never change: hand-over records and recorded dossier codes are sealed
(their canonical content hash in the custody ledger, updates refused by the database), and
corrected only by a new record that supersedes the old one with a reason."""
