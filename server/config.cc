#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <utility>

namespace tosgate::server {
namespace {

using Handler = std::function<void(const YAML::Node&, const std::string&)>;

// Walks the document with one handler per key; every problem becomes a
// ConfigError at the node's yaml-cpp Mark.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  std::vector<ConfigError> errors;

  void Error(const YAML::Node& n, const std::string& key, const std::string& msg) {
    const YAML::Mark m = n.Mark();
    errors.push_back({file_, key, m.line + 1, m.column + 1, msg});
  }

  // Walks a map, calling the handler of each known key; others are errors.
  void Map(const YAML::Node& n, const std::string& path, const std::map<std::string, Handler>& keys) {
    if (!n.IsMap()) {
      Error(n, path.empty() ? "(top)" : path, "expected a map");
      return;
    }
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      const std::string full = path.empty() ? k : path + "." + k;
      auto it = keys.find(k);
      if (it == keys.end()) {
        Error(kv.first, full, "unknown key");
        continue;
      }
      it->second(kv.second, full);
    }
  }

  Handler String(std::string* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar()) return Error(n, key, "expected a string");
      *out = n.Scalar();
    };
  }
  // One of a fixed set of names, stored as its enum value.
  template <typename E>
  Handler OneOf(E* out, std::vector<std::pair<std::string, E>> allowed) {
    return [this, out, allowed = std::move(allowed)](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar()) return Error(n, key, "expected a string");
      for (const auto& [name, value] : allowed)
        if (n.Scalar() == name) {
          *out = value;
          return;
        }
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a.first;
      Error(n, key, "must be one of " + list);
    };
  }
  Handler Bool(bool* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      bool v;
      if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) return Error(n, key, "expected true or false");
      *out = v;
    };
  }
  template <typename T>
  Handler Number(T* out, long long min) {
    return [this, out, min](const YAML::Node& n, const std::string& key) {
      long long v;
      if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) return Error(n, key, "expected a number");
      if (v < min) return Error(n, key, "must be at least " + std::to_string(min));
      *out = static_cast<T>(v);
    };
  }
  // A whole number of the duration's unit (the key says which: _ms, _seconds).
  template <typename Rep, typename Period>
  Handler Duration(std::chrono::duration<Rep, Period>* out, long long min) {
    return [this, out, min](const YAML::Node& n, const std::string& key) {
      long long v = 0;
      Number(&v, min)(n, key);
      if (v >= min) *out = std::chrono::duration<Rep, Period>(v);
    };
  }
  Handler Fraction(double* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      double v;
      if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= 0 && v <= 1))
        return Error(n, key, "expected a number from 0 to 1");
      *out = v;
    };
  }
  // A list of CIDRs ("10.0.0.0/8", "::1/128" or one address); each bad one
  // is an error naming it, at its own line and column.
  Handler Cidrs(std::vector<engine::Cidr>* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      if (!n.IsSequence()) return Error(n, key, "expected a list of CIDRs, e.g. [10.0.0.0/8]");
      out->clear();
      for (size_t i = 0; i < n.size(); ++i) {
        const std::string ik = key + "[" + std::to_string(i) + "]";
        engine::Cidr c;
        if (!n[i].IsScalar() || !engine::ParseCidr(n[i].Scalar(), &c)) {
          Error(n[i], ik, "\"" + (n[i].IsScalar() ? n[i].Scalar() : std::string("?")) +
                              "\" is not a CIDR (e.g. 10.0.0.0/8, 2001:db8::/32 or one address)");
          continue;
        }
        out->push_back(std::move(c));
      }
    };
  }
  // host:port, [v6]:port, or "off" (stored as "").
  Handler ListenOrOff(std::optional<std::string>* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar()) return Error(n, key, "expected host:port or off");
      const std::string v = n.Scalar();
      if (v == "off") {
        *out = "";
        return;
      }
      const size_t colon = v.rfind(':');
      const std::string port = colon == std::string::npos ? "" : v.substr(colon + 1);
      if (colon == std::string::npos || port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
        return Error(n, key, "expected host:port (e.g. 127.0.0.1:8081) or off, got \"" + v + "\"");
      *out = v;
    };
  }
  Handler Sha256(std::string* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar() || !IsSha256(n.Scalar()))
        return Error(n, key, "must be the 64 hex digits of sha256sum of the token");
      *out = n.Scalar();
    };
  }
  static bool IsSha256(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  }

 private:
  std::string file_;
};

void ReadAudit(Reader& r, const YAML::Node& n, const std::string& k, ServeConfig* cfg) {
  r.Map(n, k, {{"path", r.String(&cfg->audit_path)},
               {"durability", r.OneOf(&cfg->audit_durability, {{"sync", AuditDurability::kSync},
                                                               {"async", AuditDurability::kAsync}})},
               {"signing_key", r.String(&cfg->audit_signing_key)},
               {"checkpoint_every", r.Number(&cfg->audit_checkpoint_every, 1)},
               {"truncate_client_ip", r.Bool(&cfg->audit_truncate_client_ip)},
               {"backend", r.OneOf(&cfg->audit_backend, {{"sqlite", AuditBackendKind::kSqlite},
                                                         {"postgres", AuditBackendKind::kPostgres}})},
               {"dsn", r.String(&cfg->audit_dsn)},
               {"instance", r.String(&cfg->audit_instance)},
               {"anchor", r.String(&cfg->audit_anchor)}});
  const bool postgres = cfg->audit_backend == AuditBackendKind::kPostgres;
  if (!postgres && !cfg->audit_anchor.empty() && cfg->audit_signing_key.empty())
    r.Error(n, k + ".anchor", "needs signing_key: the anchor is the latest signed checkpoint");
  if (postgres) {
    if (cfg->audit_dsn.empty()) r.Error(n, k + ".dsn", "is required with backend: postgres");
    if (!cfg->audit_signing_key.empty()) r.Error(n, k + ".signing_key", "signed checkpoints need backend: sqlite");
  }
}

void ReadAdminTokens(Reader& r, const YAML::Node& list, const std::string& lk, ServeConfig* cfg) {
  if (!list.IsSequence()) return r.Error(list, lk, "expected a list of {name, sha256, role}");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string ik = lk + "[" + std::to_string(i) + "]";
    api::admin::TokenSpec t;
    bool has_role = false;
    r.Map(list[i], ik, {{"name", r.String(&t.name)},
                        {"sha256", r.String(&t.sha256)},
                        {"role", [&](const YAML::Node& n, const std::string& key) {
                           has_role = true;
                           auto role = n.IsScalar() ? api::admin::ParseRole(n.Scalar())
                                                    : Result<api::admin::Role>(Status::InvalidArgument(""));
                           if (role.ok()) t.role = *role;
                           else r.Error(n, key, "must be one of admin, policy-author, auditor, viewer");
                         }}});
    if (t.name.empty()) r.Error(list[i], ik + ".name", "is required");
    if (!Reader::IsSha256(t.sha256))
      r.Error(list[i], ik + ".sha256", "must be the 64 hex digits of sha256sum of the token");
    if (!has_role) r.Error(list[i], ik + ".role", "is required");
    cfg->admin_tokens.push_back(std::move(t));
  }
}

void ReadAdmin(Reader& r, const YAML::Node& n, const std::string& k, ServeConfig* cfg) {
  r.Map(n, k, {
    {"tokens", [&](const YAML::Node& list, const std::string& lk) { ReadAdminTokens(r, list, lk, cfg); }},
    {"tls", [&](const YAML::Node& t, const std::string& tk) {
       r.Map(t, tk, {{"cert", r.String(&cfg->admin_tls_cert)}, {"key", r.String(&cfg->admin_tls_key)}});
       if (cfg->admin_tls_cert.empty() != cfg->admin_tls_key.empty()) r.Error(t, tk, "needs both cert and key");
     }},
    {"db", r.String(&cfg->admin_db)},
    {"max_body_bytes", r.Number(&cfg->admin_max_body_bytes, 1024)},
    {"threads", r.Number(&cfg->admin_threads, 1)},
    {"max_threads", r.Number(&cfg->admin_max_threads, 1)},
    {"request_timeout_ms", r.Duration(&cfg->admin_request_timeout, 100)},
    {"max_connections_per_address", r.Number(&cfg->admin_max_connections_per_address, 1)},
    {"backtest_capture", r.String(&cfg->admin_backtest_capture)},
  });
}

void ReadAnalyzer(Reader& r, const YAML::Node& n, const std::string& k, ServeConfig* cfg) {
  r.Map(n, k, {{"enabled", r.Bool(&cfg->analyzer_enabled)},
               {"interval_seconds", r.Duration(&cfg->analyzer_interval, 1)},
               {"window", r.Number(&cfg->analyzer_window, 4)},
               {"min_samples", r.Number(&cfg->analyzer_min_samples, 2)},
               {"idle_seconds", r.Duration(&cfg->analyzer_idle, 1)},
               {"false_positive_rate", r.Fraction(&cfg->analyzer_false_positive_rate)},
               {"log_capacity", r.Number(&cfg->analyzer_log_capacity, 1024)},
               {"max_accounts", r.Number(&cfg->analyzer_max_accounts, 1)}});
  if (cfg->analyzer_window > 32) r.Error(n, k + ".window", "must be at most 32");
  if (cfg->analyzer_min_samples > cfg->analyzer_window) r.Error(n, k + ".min_samples", "must be at most window");
}

// indicators.export and indicators.sources (server/indicators_config.h).
void ReadIndicators(Reader& r, const YAML::Node& n, const std::string& k, ServeConfig* cfg) {
  IndicatorsServeConfig& ic = cfg->indicators;
  r.Map(n, k, {
    {"export", [&](const YAML::Node& e, const std::string& ek) {
       IndicatorsExportConfig& x = ic.publish;
       x.enabled = true;
       r.Map(e, ek, {{"key_file", r.String(&x.key_file)},
                     {"producer", r.String(&x.producer)},
                     {"tlp", r.OneOf(&x.tlp, {{"white", std::string("white")}, {"green", std::string("green")},
                                              {"amber", std::string("amber")}, {"red", std::string("red")}})},
                     {"rule", r.String(&x.rule)},
                     {"min_risk", r.Fraction(&x.min_risk)},
                     {"min_range_accounts", r.Number(&x.min_range_accounts, 1)},
                     {"confidence", r.Number(&x.confidence, 0)},
                     {"valid_for_seconds", r.Duration(&x.valid_for, 60)},
                     {"refresh_seconds", r.Duration(&x.refresh, 1)}});
       if (x.confidence > 100) r.Error(e, ek + ".confidence", "must be at most 100");
     }},
    {"sources", [&](const YAML::Node& list, const std::string& lk) {
       if (!list.IsSequence()) return r.Error(list, lk, "expected a list of {name, url, collection, ...}");
       for (size_t i = 0; i < list.size(); ++i) {
         const std::string ik = lk + "[" + std::to_string(i) + "]";
         TaxiiSourceConfig s;
         r.Map(list[i], ik, {{"name", r.String(&s.name)},
                             {"url", r.String(&s.url)},
                             {"collection", r.String(&s.collection)},
                             {"token_file", r.String(&s.token_file)},
                             {"weight", r.Fraction(&s.weight)},
                             {"interval_seconds", r.Duration(&s.interval, 1)},
                             {"timeout_ms", r.Duration(&s.timeout, 10)},
                             {"max_bytes", r.Number(&s.max_bytes, 1024)},
                             {"max_objects", r.Number(&s.max_objects, 1)}});
         for (const auto& [key, v] : {std::pair{"name", &s.name}, {"url", &s.url}, {"collection", &s.collection}})
           if (v->empty()) r.Error(list[i], ik + "." + key, "is required");
         if (!s.url.empty() && s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0)
           r.Error(list[i], ik + ".url", "must start with http:// or https://");
         for (const TaxiiSourceConfig& other : ic.sources)
           if (other.name == s.name) r.Error(list[i], ik + ".name", "\"" + s.name + "\" is used twice");
         ic.sources.push_back(std::move(s));
       }
     }},
  });
}

// The document's top level: one reader per section.
void ReadRoot(Reader& r, const YAML::Node& root, ServeConfig* cfg) {
  using Node = const YAML::Node&;
  using Key = const std::string&;
  r.Map(root, "", {
    {"listen", [&](Node n, Key k) {
       r.Map(n, k, {{"gateway", r.String(&cfg->gateway_listen)}, {"admin", r.String(&cfg->admin_listen)}});
     }},
    {"policies", [&](Node n, Key k) {
       r.Map(n, k, {{"dir", r.String(&cfg->policies_dir)}, {"watch", r.Bool(&cfg->policies_watch)}});
     }},
    {"audit", [&](Node n, Key k) { ReadAudit(r, n, k, cfg); }},
    {"state", [&](Node n, Key k) {
       r.Map(n, k, {{"backend", r.OneOf(&cfg->state_backend, {{"memory", StateBackendKind::kMemory},
                                                              {"redis", StateBackendKind::kRedis}})},
                    {"max_entries", r.Number(&cfg->state_max_entries, 64)},
                    {"url", r.String(&cfg->state_url)},
                    {"prefix", r.String(&cfg->state_prefix)},
                    {"timeout_ms", r.Duration(&cfg->state_timeout, 1)},
                    {"connections", r.Number(&cfg->state_connections, 1)},
                    {"fallback_share", r.Fraction(&cfg->state_fallback_share)},
                    {"cluster_sync_ms", r.Duration(&cfg->state_cluster_sync, 10)}});
     }},
    {"accounts", [&](Node n, Key k) {
       r.Map(n, k, {{"file", r.String(&cfg->accounts_file)},
                    {"db", r.String(&cfg->accounts_db)},
                    {"refresh_seconds", r.Duration(&cfg->accounts_refresh, 1)}});
     }},
    {"gateway", [&](Node n, Key k) {
       r.Map(n, k, {{"threads", r.Number(&cfg->gateway_threads, 0)},
                    {"max_body_bytes", r.Number(&cfg->max_body_bytes, 1)},
                    {"path_prefix", r.String(&cfg->path_prefix)},
                    {"header_timeout_ms", r.Duration(&cfg->header_timeout, 1)},
                    {"max_connections", r.Number(&cfg->max_connections, 0)},
                    {"control_listen", r.ListenOrOff(&cfg->control_listen)},
                    {"control_token_sha256", r.Sha256(&cfg->control_token_sha256)},
                    {"trusted_proxies", r.Cidrs(&cfg->trusted_proxies)},
                    {"unreadable_body", r.OneOf(&cfg->unreadable_body, {{"refuse", api::UnreadableBody::kRefuse},
                                                                        {"pass", api::UnreadableBody::kPass}})}});
     }},
    {"upstream", [&](Node n, Key k) {
       r.Map(n, k, {{"url", r.String(&cfg->upstream_url)},
                    {"connect_timeout_ms", r.Duration(&cfg->upstream_connect_timeout, 1)},
                    {"response_timeout_ms", r.Duration(&cfg->upstream_response_timeout, 1)}});
     }},
    {"admin", [&](Node n, Key k) { ReadAdmin(r, n, k, cfg); }},
    {"analyzer", [&](Node n, Key k) { ReadAnalyzer(r, n, k, cfg); }},
    {"indicators", [&](Node n, Key k) { ReadIndicators(r, n, k, cfg); }},
    {"log", [&](Node n, Key k) {
       r.Map(n, k, {{"format", r.OneOf(&cfg->log_format, {{"text", LogFormat::kText}, {"json", LogFormat::kJson}})},
                    {"level", r.OneOf(&cfg->log_level, {{"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
                                                        {"warn", LogLevel::kWarn}, {"error", LogLevel::kError}})},
                    {"access", r.Bool(&cfg->log_access)},
                    {"access_sample", r.Fraction(&cfg->log_access_sample)}});
     }},
  });
}

}  // namespace

std::string_view DurabilityName(AuditDurability d) { return d == AuditDurability::kSync ? "sync" : "async"; }

std::string EffectiveControlListen(const ServeConfig& cfg) {
  if (cfg.control_listen) return *cfg.control_listen;
  return cfg.upstream_url.empty() ? "" : "127.0.0.1:8081";
}

std::string ConfigError::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

std::vector<ConfigError> LoadServeConfig(const std::string& path, ServeConfig* cfg) {
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return {{path, "", 0, 0, "cannot read the configuration file"}};
  } catch (const YAML::ParserException& e) {
    return {{path, "", e.mark.line + 1, e.mark.column + 1, e.msg}};
  }
  if (root.IsNull()) return {};
  try {
    ReadRoot(r, root, cfg);
  } catch (const YAML::Exception& e) {
    r.errors.push_back({path, "", 0, 0, e.what()});
  }
  return r.errors;
}

}  // namespace tosgate::server
