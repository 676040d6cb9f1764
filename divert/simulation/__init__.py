"""A program's teams simulated over the city's real arrival times, and the teams it needs.

    calls.py    the calls as the simulation sees them; service minutes measured or assumed
    engine.py   the discrete-event simulation (simpy): queue, patience, rosters by hour of week
    program.py  a program: a civilian route's hours and areas in one city, its teams and target
    sizing.py   teams needed (flat or per block of hours), with Erlang C's answer beside

Pure: records in, records out. The funnel that uses it is divert/funnel.py.
"""

from divert.simulation.calls import AssumedService, SimCall, measured_minutes, sim_calls
from divert.simulation.engine import CallOutcome, Discipline, Simulation, Summary, simulate, team_schedule
from divert.simulation.program import Program
from divert.simulation.sizing import BlockSizing, Sizing, erlang_c_share, teams_for_program, teams_needed

__all__ = [
    "AssumedService", "SimCall", "measured_minutes", "sim_calls", "CallOutcome", "Discipline", "Simulation",
    "Summary", "simulate", "team_schedule", "Program", "BlockSizing", "Sizing", "erlang_c_share",
    "teams_for_program", "teams_needed",
]
