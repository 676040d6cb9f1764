"""What residents say: community surveys by area, beside crime and enforcement.

* :mod:`divert.surveys.mapping` — ``reference/surveys/<name>.yaml``, how to read a survey file;
* :mod:`divert.surveys.estimate` — shares agreeing with margins of error (Kish effective n);
* :mod:`divert.surveys.measures` — a file → measures per item, area and period;
* :mod:`divert.surveys.association` — Spearman correlations across areas, with intervals.
"""

from divert.surveys.association import Association, association
from divert.surveys.estimate import Estimate, kish_effective_n, moe_for, post_stratify, share
from divert.surveys.mapping import SurveyMapping, available_surveys, load_survey_mapping, surveys_for
from divert.surveys.measures import Measure, over_window, read_measures

__all__ = ["Association", "association", "Estimate", "kish_effective_n", "moe_for", "post_stratify", "share",
           "SurveyMapping", "available_surveys", "load_survey_mapping", "surveys_for", "Measure",
           "over_window", "read_measures"]
