"""OPD routing: rules over rows, their evaluation, and explanations in Bahasa Indonesia with evidence."""

from geo_api.routing.evaluate import evaluate
from geo_api.routing.model import Keputusan, LayerFakta, Lokasi, Rule, RuleSet

__all__ = ["Keputusan", "LayerFakta", "Lokasi", "Rule", "RuleSet", "evaluate"]
