"""The council report: one self-contained HTML page on a city's calls, what police time on them
costs, where policing and reported crime diverge, and (with a program) what changed.

    source.py   gathers the figures from the database (an open asyncpg connection is passed in)
    council.py  renders them: plain words first, then charts (inline SVG) and tables, every
                number with its source and the policy version that classified the calls
"""
