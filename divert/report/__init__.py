"""The council report: one self-contained HTML page on a city's calls, what police time on them
costs, where policing and reported crime diverge, and (with a program) what changed.

    data.py     the figures as records (gathered from the database by consumers/db/sources/report.py)
    council.py  renders them: plain words first, then charts (inline SVG) and tables, every
                number with its source and the policy version that classified the calls
"""
