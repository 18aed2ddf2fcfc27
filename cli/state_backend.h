// The StateStore `serve` runs on, chosen by `state.backend` in the config:
// memory (the default) or redis, optionally with a local fallback share.
#pragma once

#include <memory>
#include <string>

#include "cli/config.h"
#include "engine/state_store.h"
#include "storage/redis/behavior_store.h"
#include "tosgate/status.h"

namespace tosgate::cli {

// A wrong URL, a Redis that cannot be reached or refuses the password is an
// error here, at start-up. `description` says what was opened, for the log.
Result<std::unique_ptr<engine::StateStore>> OpenStateStore(const ServeConfig& cfg,
                                                           std::string* description);

// Where competitor-training detection keeps its cluster counts: null with
// the memory backend (the engine keeps its own), a RedisBehaviorStore on
// the same server with the redis backend, so a fleet sees one cluster.
Result<std::unique_ptr<storage::RedisBehaviorStore>> OpenClusterStore(const ServeConfig& cfg);

// Its /metrics lines (none for null).
std::string ClusterStoreMetrics(const storage::RedisBehaviorStore* store);

}  // namespace tosgate::cli
