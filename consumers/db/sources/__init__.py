"""What the commands, reports and agents read from the database: one module per reader.

Every function takes an open connection (``consumers.db.connection.connect``) and returns the
core's own records or frames, so the command that calls it reads parse → source → core → render.
"""
