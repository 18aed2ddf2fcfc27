#include "api/request/capture.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

namespace tosgate::api {

bool ParseCaptureLine(std::string_view text, CaptureLine* out, std::string* problem) {
  using nlohmann::json;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *problem = "not valid JSON";
    return false;
  }
  if (!j.is_object()) {
    *problem = "not a JSON object";
    return false;
  }
  auto ts = j.find("ts");
  if (ts == j.end()) {
    *problem = "missing \"ts\"";
    return false;
  }
  if (!ts->is_number_integer()) {
    *problem = "\"ts\" must be an integer (milliseconds since the Unix epoch)";
    return false;
  }
  auto path = j.find("path");
  if (path == j.end()) {
    *problem = "missing \"path\"";
    return false;
  }
  if (!path->is_string()) {
    *problem = "\"path\" must be a string";
    return false;
  }
  out->ts_ms = ts->get<int64_t>();
  out->request = api::RequestDescription{};
  out->request.path = path->get<std::string>();
  for (const char* name : {"method", "client_ip"}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    if (!it->is_string()) {
      *problem = std::string("\"") + name + "\" must be a string";
      return false;
    }
    (std::string_view(name) == "method" ? out->request.method : out->request.client_ip) =
        it->get<std::string>();
  }
  if (auto h = j.find("headers"); h != j.end()) {
    if (!h->is_object()) {
      *problem = "\"headers\" must be an object";
      return false;
    }
    for (const auto& [k, v] : h->items()) {
      if (!v.is_string()) {
        *problem = "header \"" + k + "\" must be a string";
        return false;
      }
      out->request.headers.emplace_back(k, v.get<std::string>());
    }
  }
  if (auto b = j.find("body"); b != j.end() && !b->is_null()) {
    if (!b->is_object()) {
      *problem = "\"body\" must be an object";
      return false;
    }
    out->request.body = b->dump();
  }
  if (auto u = j.find("usage"); u != j.end() && !u->is_null() && !u->is_object()) {
    *problem = "\"usage\" must be an object";
    return false;
  }
  return true;
}

CaptureReader::CaptureReader(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return;
  in_.open(path, std::ios::binary);
  if (!in_) return;
  size_ = static_cast<uint64_t>(st.st_size);
  ok_ = true;
}

bool CaptureReader::Next(std::string* text) {
  while (std::getline(in_, *text)) {
    ++line_;
    bytes_read_ += text->size() + 1;
    if (!text->empty() && text->back() == '\r') text->pop_back();
    if (text->find_first_not_of(" \t") != std::string::npos) return true;
  }
  return false;
}

}  // namespace tosgate::api
