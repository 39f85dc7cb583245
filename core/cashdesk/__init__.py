"""The post office's money desk as staff use it: money exceptions within a person's reach.

Apart from ``core.money`` because it asks ``core.access`` who reaches what, and
``core.access`` sits below the parts that post money (hand-overs import ``core.money``).
"""
