"""One module per channel a citizen can be reached on; each exposes an outbox handler.

Handlers run inside the worker's transaction, holding the message's row lock (see
``core.outbox.service``). A handler returns the gateway's message id, raises
``PermanentFailure`` for what can never succeed, ``Reroute`` to hand the message to another
channel, and any other exception to be retried with backoff.
"""
