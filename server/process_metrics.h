// What the process's components register in the metrics registry, beside
// what they register themselves (AdminMetrics::Register,
// RegisterAuditMetrics, StateBackend::RegisterMetrics). Each function
// registers its names once; the objects must outlive the registry's use.
#pragma once

#include "api/gateway/gateway_server.h"
#include "engine/distill/analyzer_job.h"
#include "engine/engine.h"
#include "metrics/registry.h"

namespace tosgate::server {

// Competitor-training detection, guard rules of the current policy, account
// marks and refused usage reports.
void RegisterEngineMetrics(const engine::Engine* engine, metrics::Registry* registry);

// GatewayServerStats, every field (tosgate_gateway_*, tosgate_upstream_*).
void RegisterGatewayMetrics(const api::GatewayServer* gateway, metrics::Registry* registry);

// The out-of-path traffic analyzer and the feature log it reads.
void RegisterAnalyzerMetrics(const engine::FeatureLog* log, const engine::AnalyzerJob* analyzer,
                             metrics::Registry* registry);

}  // namespace tosgate::server
