"""MEZAN's agents: DeepThink plans a solve (:mod:`mezan.agents.deepthink`), ATLAS runs studies
(:mod:`mezan.agents.atlas`), both over the blackboard (:mod:`mezan.agents.blackboard`)."""

from mezan.extras import require

require("mezan.agents", "meta", "bench")
