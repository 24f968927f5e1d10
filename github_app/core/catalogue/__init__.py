"""The agent catalogue: the identities, trailers, URLs and branch names that mark an agent's work.

The catalogue is data (``policies/agents.yml``), extendable per org.  This package validates it
(``spec``), merges policy extensions into it (``load``), and compiles it once into lookup
tables (``index``) and line rules (``rules``) on RE2 regexes (``patterns``) behind literal
pre-filters (``prefilter``), so that detection, which runs on every webhook, never parses or
compiles anything and no pattern can take more than linear time.
"""

from github_app.core.catalogue.index import Catalogue
from github_app.core.catalogue.load import (
    DEFAULT_CATALOGUE_PATH,
    CatalogueCache,
    default_cache,
    default_catalogue,
    extension_digest,
    load_catalogue,
    validate_extension,
)
from github_app.core.catalogue.patterns import (
    LinearRegex,
    check_pattern,
    compile_line_pattern,
    compile_pattern,
)
from github_app.core.catalogue.prefilter import Gate, required_literal
from github_app.core.catalogue.rules import LineRule, RulePurpose
from github_app.core.catalogue.spec import (
    DEFAULT_LAUNCHER_RULES,
    SUPPORTED_VERSIONS,
    UNKNOWN_AGENT,
    AgentEntry,
    CatalogueSpec,
    Identities,
    LauncherRule,
    LauncherSource,
    Marker,
)

__all__ = [
    "DEFAULT_CATALOGUE_PATH",
    "DEFAULT_LAUNCHER_RULES",
    "SUPPORTED_VERSIONS",
    "UNKNOWN_AGENT",
    "AgentEntry",
    "Catalogue",
    "CatalogueCache",
    "CatalogueSpec",
    "Gate",
    "Identities",
    "LauncherRule",
    "LauncherSource",
    "LineRule",
    "LinearRegex",
    "Marker",
    "RulePurpose",
    "check_pattern",
    "compile_line_pattern",
    "compile_pattern",
    "default_cache",
    "default_catalogue",
    "extension_digest",
    "load_catalogue",
    "required_literal",
    "validate_extension",
]
