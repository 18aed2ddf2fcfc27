#include "cli/config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

#include "engine/condition.h"

namespace tosgate::cli {
namespace {

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  std::vector<std::string> errors;

  void Error(const YAML::Node& n, const std::string& key, const std::string& msg) {
    const YAML::Mark m = n.Mark();
    errors.push_back(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                     ": " + key + ": " + msg);
  }

  // Walks a map, calling the handler of each known key; others are errors.
  void Map(const YAML::Node& n, const std::string& path,
           const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>& keys) {
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

  auto String(std::string* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar()) return Error(n, key, "expected a string");
      *out = n.Scalar();
    };
  }
  auto OneOf(std::string* out, std::vector<std::string> allowed) {
    return [this, out, allowed](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar()) return Error(n, key, "expected a string");
      for (const auto& a : allowed)
        if (n.Scalar() == a) {
          *out = a;
          return;
        }
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Error(n, key, "must be one of " + list);
    };
  }
  auto Bool(bool* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      bool v;
      if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) return Error(n, key, "expected true or false");
      *out = v;
    };
  }
  template <typename T>
  auto Number(T* out, long long min) {
    return [this, out, min](const YAML::Node& n, const std::string& key) {
      long long v;
      if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) return Error(n, key, "expected a number");
      if (v < min) return Error(n, key, "must be at least " + std::to_string(min));
      *out = static_cast<T>(v);
    };
  }
  auto Fraction(double* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      double v;
      if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= 0 && v <= 1))
        return Error(n, key, "expected a number from 0 to 1");
      *out = v;
    };
  }
  // A list of CIDRs ("10.0.0.0/8", "::1/128" or one address); each bad one
  // is an error naming it, at its own line and column.
  auto Cidrs(std::vector<std::string>* out) {
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
        out->push_back(n[i].Scalar());
      }
    };
  }
  // host:port, [v6]:port, or "off".
  auto ListenOrOff(std::string* out, bool* set) {
    return [this, out, set](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar()) return Error(n, key, "expected host:port or off");
      const std::string v = n.Scalar();
      *set = true;
      if (v == "off") {
        out->clear();
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
  auto Sha256(std::string* out) {
    return [this, out](const YAML::Node& n, const std::string& key) {
      if (!n.IsScalar() || n.Scalar().size() != 64 ||
          n.Scalar().find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return Error(n, key, "must be the 64 hex digits of sha256sum of the token");
      *out = n.Scalar();
    };
  }
  auto Unsupported(const std::string& issue) {
    return [this, issue](const YAML::Node& n, const std::string& key) {
      Error(n, key, "not supported yet (" + issue + ")");
    };
  }

 private:
  std::string file_;
};

}  // namespace

std::string EffectiveControlListen(const ServeConfig& cfg) {
  if (cfg.control_listen_set) return cfg.control_listen;
  return cfg.upstream_url.empty() ? "" : "127.0.0.1:8081";
}

std::vector<std::string> LoadServeConfig(const std::string& path, ServeConfig* cfg) {
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return {path + ": cannot read the configuration file"};
  } catch (const YAML::ParserException& e) {
    return {path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
            ": " + e.msg};
  }
  if (root.IsNull()) return {};
  try {
    r.Map(root, "", {
      {"listen", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"gateway", r.String(&cfg->gateway_listen)}, {"admin", r.String(&cfg->admin_listen)}});
       }},
      {"policies", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"dir", r.String(&cfg->policies_dir)}, {"watch", r.Bool(&cfg->policies_watch)}});
       }},
      {"audit", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"path", r.String(&cfg->audit_path)},
                      {"durability", r.OneOf(&cfg->audit_durability, {"sync", "async"})},
                      {"signing_key", r.String(&cfg->audit_signing_key)},
                      {"checkpoint_every", r.Number(&cfg->audit_checkpoint_every, 1)},
                      {"truncate_client_ip", r.Bool(&cfg->audit_truncate_client_ip)},
                      {"backend", r.OneOf(&cfg->audit_backend, {"sqlite", "postgres"})},
                      {"dsn", r.String(&cfg->audit_dsn)},
                      {"instance", r.String(&cfg->audit_instance)},
                      {"anchor", r.String(&cfg->audit_anchor)}});
         if (cfg->audit_backend != "postgres" && !cfg->audit_anchor.empty() &&
             cfg->audit_signing_key.empty())
           r.Error(n, k + ".anchor", "needs signing_key: the anchor is the latest signed checkpoint");
         if (cfg->audit_backend == "postgres") {
           if (cfg->audit_dsn.empty()) r.Error(n, k + ".dsn", "is required with backend: postgres");
           if (!cfg->audit_signing_key.empty())
             r.Error(n, k + ".signing_key", "signed checkpoints need backend: sqlite");
         }
       }},
      {"state", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"backend", r.OneOf(&cfg->state_backend, {"memory", "redis"})},
                      {"max_entries", r.Number(&cfg->state_max_entries, 64)},
                      {"url", r.String(&cfg->state_url)},
                      {"prefix", r.String(&cfg->state_prefix)},
                      {"timeout_ms", r.Number(&cfg->state_timeout_ms, 1)},
                      {"connections", r.Number(&cfg->state_connections, 1)},
                      {"fallback_share", r.Fraction(&cfg->state_fallback_share)},
                      {"cluster_sync_ms", r.Number(&cfg->state_cluster_sync_ms, 10)}});
       }},
      {"accounts", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"file", r.String(&cfg->accounts_file)},
                      {"db", r.String(&cfg->accounts_db)},
                      {"refresh_seconds", r.Number(&cfg->accounts_refresh_seconds, 1)}});
       }},
      {"gateway", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"threads", r.Number(&cfg->gateway_threads, 0)},
                      {"max_body_bytes", r.Number(&cfg->max_body_bytes, 1)},
                      {"path_prefix", r.String(&cfg->path_prefix)},
                      {"header_timeout_ms", r.Number(&cfg->header_timeout_ms, 1)},
                      {"max_connections", r.Number(&cfg->max_connections, 0)},
                      {"control_listen", r.ListenOrOff(&cfg->control_listen, &cfg->control_listen_set)},
                      {"control_token_sha256", r.Sha256(&cfg->control_token_sha256)},
                      {"trusted_proxies", r.Cidrs(&cfg->trusted_proxies)},
                      {"unreadable_body", r.OneOf(&cfg->unreadable_body, {"refuse", "pass"})}});
       }},
      {"upstream", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"url", r.String(&cfg->upstream_url)},
                      {"connect_timeout_ms", r.Number(&cfg->upstream_connect_timeout_ms, 1)},
                      {"response_timeout_ms", r.Number(&cfg->upstream_response_timeout_ms, 1)}});
       }},
      {"admin", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {
           {"tokens", [&](const YAML::Node& list, const std::string& lk) {
              if (!list.IsSequence()) return r.Error(list, lk, "expected a list of {name, sha256, role}");
              for (size_t i = 0; i < list.size(); ++i) {
                const std::string ik = lk + "[" + std::to_string(i) + "]";
                AdminTokenConfig t;
                r.Map(list[i], ik, {{"name", r.String(&t.name)},
                                    {"sha256", r.String(&t.sha256)},
                                    {"role", r.OneOf(&t.role, {"admin", "policy-author", "auditor", "viewer"})}});
                if (t.name.empty()) r.Error(list[i], ik + ".name", "is required");
                if (t.sha256.size() != 64 || t.sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                  r.Error(list[i], ik + ".sha256", "must be the 64 hex digits of sha256sum of the token");
                if (t.role.empty()) r.Error(list[i], ik + ".role", "is required");
                cfg->admin_tokens.push_back(std::move(t));
              }
            }},
           {"tls", [&](const YAML::Node& t, const std::string& tk) {
              r.Map(t, tk, {{"cert", r.String(&cfg->admin_tls_cert)}, {"key", r.String(&cfg->admin_tls_key)}});
              if (cfg->admin_tls_cert.empty() != cfg->admin_tls_key.empty())
                r.Error(t, tk, "needs both cert and key");
            }},
           {"db", r.String(&cfg->admin_db)},
           {"max_body_bytes", r.Number(&cfg->admin_max_body_bytes, 1024)},
           {"threads", r.Number(&cfg->admin_threads, 1)},
           {"max_threads", r.Number(&cfg->admin_max_threads, 1)},
           {"request_timeout_ms", r.Number(&cfg->admin_request_timeout_ms, 100)},
           {"max_connections_per_address", r.Number(&cfg->admin_max_connections_per_address, 1)},
         });
       }},
      {"analyzer", [&](const YAML::Node& n, const std::string& k) {
         r.Map(n, k, {{"enabled", r.Bool(&cfg->analyzer_enabled)},
                      {"interval_seconds", r.Number(&cfg->analyzer_interval_seconds, 1)},
                      {"window", r.Number(&cfg->analyzer_window, 4)},
                      {"min_samples", r.Number(&cfg->analyzer_min_samples, 2)},
                      {"idle_seconds", r.Number(&cfg->analyzer_idle_seconds, 1)},
                      {"false_positive_rate", r.Fraction(&cfg->analyzer_false_positive_rate)},
                      {"log_capacity", r.Number(&cfg->analyzer_log_capacity, 1024)},
                      {"max_accounts", r.Number(&cfg->analyzer_max_accounts, 1)}});
         if (cfg->analyzer_window > 32) r.Error(n, k + ".window", "must be at most 32");
         if (cfg->analyzer_min_samples > cfg->analyzer_window)
           r.Error(n, k + ".min_samples", "must be at most window");
       }},
    });
  } catch (const YAML::Exception& e) {
    r.errors.push_back(path + ": " + e.what());
  }
  return r.errors;
}

}  // namespace tosgate::cli
