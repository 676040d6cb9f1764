"""The stored calls a program's funnel reads (``divert funnel``, ``divert staffing``, the council
report), the days the city published, and the initial → final type counts of the reconciliation.

A whole city's history is hundreds of thousands of calls, most of which never reach the program's
route: :func:`program_calls` counts those in the database (officer-initiated events, and community
calls whose initial code the program's policy routes elsewhere: by code, and by area and local
day) and reads only the rest one by one, with only the columns and the area layers the funnel uses.
San Antonio's whole history (717k calls, a crisis program in one substation): 1 min 50 s and 1.6 GB
peak RSS reading every call as a record, 17 s and 0.3 GB so (`divert funnel`, same output).

Functions take an open asyncpg connection; nothing here connects. Windows are [start, end) in UTC;
None = from the first / to the last call.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from consumers.db.sources.programs import program_record
from divert.classify import DISQUALIFIED, GUARD, reason
from divert.exceptions import ConfigError
from divert.funnel import Early, EarlyGroup, EarlyType, Reach, StoredProgram
from divert.reconcile import GroupCount
from schemas.records import CadEvent, ClassifiedCall

_WINDOW = ("agency = $1 and ($2::timestamptz is null or received_at >= $2) "
           "and ($3::timestamptz is null or received_at < $3)")
# a community call whose initial code reaches the program's route ($4 codes, $5 others, $6 default reaches)
_REACHES = ("(case when $6::boolean then apco_code is null or not coalesce(apco_code = any($5::text[]), false) "
            "else coalesce(apco_code = any($4::text[]), false) end)")


async def stored_program(conn, name: str) -> StoredProgram:
    """A program recorded with `divert program add` (the evaluation's reader brings the statistics
    libraries with it: seconds of imports a funnel does not need)."""
    row = await program_record(conn, name)
    return StoredProgram(row["name"], row["agency"], row["area_layer"], tuple(row["areas"]), tuple(row["routes"]))


async def program_calls(conn, city: str, reach: Reach, *, layers: list[str], breakdown: str | None,
                        timezone: str, start: datetime | None = None, end: datetime | None = None
                        ) -> tuple[list[ClassifiedCall], Early]:
    """The window's calls for one program's funnel: the community calls whose initial code reaches
    its route, one by one (their ``areas`` only the ``layers`` named; of the reasons only the
    guard's and the disqualifiers'), and every other call counted (:class:`divert.funnel.Early`:
    by code, and by area of ``breakdown`` and local day in ``timezone``)."""
    args = (city, start, end, sorted(reach.codes), sorted(reach.others), reach.default_reaches)
    # two plain group-bys, one scan each and hashed (as one query with grouping sets: 5× longer)
    early = f"from calls where {_WINDOW} and (source = 'officer_initiated' or not {_REACHES})"
    by_type = await conn.fetch(
        "select source = 'officer_initiated' as officer, apco_code, policy_version, count(*) as calls "
        f"{early} group by 1, 2, 3", *args)
    by_area_day = await conn.fetch(
        "select source = 'officer_initiated' as officer, nullif(areas ->> $7, '') as area, "
        f"       (received_at at time zone $8)::date as day, count(*) as calls {early} group by 1, 2, 3",
        *args, breakdown or "", timezone)
    rows = await conn.fetch(
        "select incident_id, source, initial_type, received_at, time_precision, arrived_at, cleared_at, disposition, "
        "       (select coalesce(jsonb_object_agg(key, value), '{}') from jsonb_each_text(areas) "
        "        where key = any($7::text[]))::text as areas, "
        "       apco_code, crosswalk_confidence, route, eligible_initial, eligible, policy_version, "
        "       array(select r from unnest(reasons) r where starts_with(r, $8) or starts_with(r, $9)) as reasons "
        f"from calls where {_WINDOW} and source <> 'officer_initiated' and {_REACHES} order by received_at",
        *args, layers, reason(GUARD, ""), reason(DISQUALIFIED, ""))
    if not rows and not by_type:
        raise ConfigError(f"no stored calls for {city} in this window: load its history first "
                          f"(divert load --city {city})")
    counted = Early(tuple(EarlyType(g["officer"], g["apco_code"], g["policy_version"], g["calls"]) for g in by_type),
                    tuple(EarlyGroup(g["officer"], g["area"], g["day"], g["calls"]) for g in by_area_day))
    decode = msgspec.json.Decoder(dict[str, str])
    calls = [ClassifiedCall(
        call=CadEvent(agency=city, incident_id=r["incident_id"], source=r["source"], initial_type=r["initial_type"],
                      received_at=r["received_at"], time_precision=r["time_precision"], arrived_at=r["arrived_at"],
                      cleared_at=r["cleared_at"], disposition=r["disposition"], areas=decode.decode(r["areas"])),
        apco_code=r["apco_code"], crosswalk_confidence=r["crosswalk_confidence"], route=r["route"],
        eligible_initial=r["eligible_initial"], eligible=r["eligible"], reasons=list(r["reasons"]),
        policy_version=r["policy_version"]) for r in rows]
    return calls, counted


async def window_span(conn, city: str, start: datetime | None = None, end: datetime | None = None
                      ) -> tuple[datetime, datetime] | None:
    """The first and the last stored call of the window (None: none)."""
    row = await conn.fetchrow(f"select min(received_at) as lo, max(received_at) as hi from calls where {_WINDOW}",
                              city, start, end)
    return (row["lo"], row["hi"]) if row["lo"] is not None else None


async def published_days(conn, city: str, timezone: str, start: datetime | None = None,
                         end: datetime | None = None) -> list[date]:
    """The local days with at least one stored call timed to the second (a sampled city publishes
    some days a month, an extract some dates only: the simulation puts teams on duty on these days)."""
    rows = await conn.fetch(f"select distinct (received_at at time zone $4)::date as day from calls where {_WINDOW} "
                            "and time_precision = 'second' order by 1", city, start, end, timezone)
    return [r["day"] for r in rows]


async def area_layers(conn, city: str) -> list[str]:
    """The area layers the city's stored calls carry (``city`` excluded)."""
    rows = await conn.fetch("select distinct layer from call_areas where agency = $1 and layer <> 'city' "
                            "order by 1", city)
    return [r["layer"] for r in rows]


async def type_counts(conn, city: str, start: datetime | None = None, end: datetime | None = None
                      ) -> tuple[list[GroupCount], list[str]]:
    """Community calls by initial code and eligibility × final code and route (the reconciliation),
    and the policy versions that classified them."""
    rows = await conn.fetch(
        "select apco_code, eligible_initial, final_apco_code, final_route, count(*) as calls, "
        "       array_agg(distinct policy_version) as versions "
        f"from calls where {_WINDOW} and source <> 'officer_initiated' group by 1, 2, 3, 4", city, start, end)
    if not rows:
        raise ConfigError(f"no stored community calls for {city} in this window: load its history first "
                          f"(divert load --city {city})")
    versions = sorted({v for r in rows for v in r["versions"]})
    return [GroupCount(r["apco_code"], r["eligible_initial"], r["final_apco_code"], r["final_route"], r["calls"])
            for r in rows], versions
